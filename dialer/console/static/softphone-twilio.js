/*
 * The agent console's Twilio softphone: one Twilio.Device (the npm package
 * @twilio/voice-sdk, served at /static/vendor/twilio.min.js) registered as the
 * agent's client:<identity> endpoint with the Access Token from
 * POST /api/agents/{id}/voice-token.
 *
 * The dialer places every call itself (REST, after the agent's request or the
 * progressive dialer's decision) and bridges an answered customer to the agent's
 * endpoint, so this Device never dials out: it takes incoming bridges, accepting
 * them at once (the customer is already on the line), and drives mute, DTMF and
 * hang-up on the call in progress.
 *
 * Plain browser JavaScript, no build step. Interface (the console relies on it):
 *
 *   const phone = new window.DialerTwilioPhone({
 *     fetchToken,      // async () => ({token, expires_at})
 *     onRegistration,  // (state) => void: "unregistered"|"registering"|"registered"|"error"
 *     onCall,          // (state, info) => void: "ringing"|"talking"|"ended"
 *     onError,         // (code, message) => void
 *   });
 *   await phone.checkMicrophone();  // true/false
 *   await phone.start();            // true once registered, false when it could not be
 *   phone.setMuted(on); phone.hangUp(); phone.sendDigits("12#");
 *   phone.muted; phone.registered;
 *   phone.stop();
 *
 * Error codes given to onError: "sdk_missing", "unsupported_browser",
 * "microphone", "token", "token_refresh", "device" (with Twilio's numeric code in
 * the message), "call", "digits", "stopped".
 */
(function () {
  "use strict";

  // How long before the token's expiry the Device asks for a new one
  // (tokenWillExpire). Generous: a hidden tab's timers can be throttled to once a
  // minute, and the token must still be valid when the refresh finally runs.
  var REFRESH_BEFORE_MS = 120000;
  var REFRESH_MIN_MS = 10000;
  // A refresh that failed (network, server restart) is tried again this often
  // while the token it replaces is still valid.
  var REFRESH_RETRY_MS = 15000;
  // Twilio's errors for an expired or rejected token: fetch a new one and register again.
  var TOKEN_ERRORS = { 20101: 1, 20104: 1, 31202: 1, 31204: 1, 31205: 1 };
  // ... at most this often: a token the server keeps refusing (a wrong API key)
  // must not become a loop of token requests.
  var TOKEN_ERROR_REFRESH_MS = 30000;
  var DIGITS = /^[0-9*#w]{1,32}$/;

  function noop() {}

  function sdk() {
    var twilio = window.Twilio;
    return twilio && typeof twilio.Device === "function" ? twilio.Device : null;
  }

  function describe(call, direction) {
    var p = (call && call.parameters) || {};
    var custom = {};
    if (call && call.customParameters && typeof call.customParameters.forEach === "function") {
      call.customParameters.forEach(function (value, key) {
        custom[key] = value;
      });
    }
    return {
      callSid: p.CallSid || null,
      from: p.From || null,
      to: p.To || null,
      direction: direction,
      parameters: custom,
    };
  }

  function expiresInMs(expiresAt) {
    var at = Date.parse(expiresAt);
    return isNaN(at) ? null : at - Date.now();
  }

  class DialerTwilioPhone {
    constructor(options) {
      var o = options || {};
      if (typeof o.fetchToken !== "function") {
        throw new TypeError("DialerTwilioPhone: fetchToken is required");
      }
      this._fetchToken = o.fetchToken;
      this._onRegistration = o.onRegistration || noop;
      this._onCall = o.onCall || noop;
      this._onError = o.onError || noop;
      // Extra Twilio.Device options (e.g. {edge: "tokyo"}); ours win where they meet.
      this._deviceOptions = o.deviceOptions || {};
      this._device = null;
      this._call = null;
      this._callInfo = null;
      this._muted = false;
      this._state = "unregistered";
      this._expiresAt = null;
      this._refreshing = null;
      this._retryTimer = null;
      this._stopped = false;
      this._reported = {};
      this._tokenErrorAt = -Infinity;
      this._settle = null;
      this._starting = null;
      this._onVisible = this._onVisible.bind(this);
    }

    get muted() {
      return this._muted;
    }

    get registered() {
      return this._state === "registered";
    }

    /** Whether a microphone can be opened (the browser asks the agent once). */
    async checkMicrophone() {
      var media = navigator.mediaDevices;
      if (!media || typeof media.getUserMedia !== "function") {
        this._error("microphone", "this browser gives no access to a microphone (https needed)");
        return false;
      }
      try {
        var stream = await media.getUserMedia({ audio: true });
        var live = stream.getAudioTracks().length > 0;
        stream.getTracks().forEach(function (t) {
          t.stop();
        });
        if (!live) {
          this._error("microphone", "no microphone found");
        }
        return live;
      } catch (err) {
        this._error("microphone", (err && (err.name + ": " + err.message)) || String(err));
        return false;
      }
    }

    /**
     * Fetch a token, create the Device and register it. Resolves true once
     * registered, false when it could not be (the reason went to onError and
     * onRegistration("error")); never rejects.
     */
    start() {
      // One Device: a second start() while the first is under way gets its answer.
      if (!this._starting) {
        var self = this;
        this._starting = this._start().finally(function () {
          self._starting = null;
        });
      }
      return this._starting;
    }

    async _start() {
      if (this._device) {
        return this.registered;
      }
      this._stopped = false;
      var Device = sdk();
      if (!Device) {
        this._error("sdk_missing", "the Twilio Voice SDK (/static/vendor/twilio.min.js) is not loaded");
        this._setState("error");
        return false;
      }
      if (!Device.isSupported) {
        this._error("unsupported_browser", "this browser cannot run Twilio's softphone (WebRTC)");
        this._setState("error");
        return false;
      }
      var got;
      try {
        got = await this._fetchToken();
      } catch (err) {
        this._error("token", (err && err.message) || String(err));
        this._setState("error");
        return false;
      }
      if (this._stopped) {
        return false;
      }
      this._expiresAt = got.expires_at;
      var lifetime = expiresInMs(got.expires_at);
      var refreshMs = REFRESH_BEFORE_MS;
      if (lifetime !== null) {
        refreshMs = Math.max(REFRESH_MIN_MS, Math.min(REFRESH_BEFORE_MS, Math.floor(lifetime / 2)));
      }
      var options = Object.assign({ appName: "dialer-console" }, this._deviceOptions, {
        tokenRefreshMs: refreshMs,
        // The console keeps one customer at a time; a second bridge while talking
        // is left to ring out, and the dialer's own ring timeout handles it.
        allowIncomingWhileBusy: false,
        codecPreferences: ["opus", "pcmu"],
      });
      var device;
      try {
        device = new Device(got.token, options);
      } catch (err) {
        this._error("device", (err && err.message) || String(err));
        this._setState("error");
        return false;
      }
      this._device = device;
      this._listen(device);
      document.addEventListener("visibilitychange", this._onVisible);
      return this._register();
    }

    setMuted(on) {
      this._muted = !!on;
      if (this._call) {
        this._call.mute(this._muted);
      }
    }

    /** Ends the call in progress; a bridge still ringing here is rejected. */
    hangUp() {
      var call = this._call;
      if (!call) {
        return;
      }
      if (typeof call.status === "function" && call.status() === "pending") {
        call.reject();
      } else {
        call.disconnect();
      }
    }

    sendDigits(digits) {
      var text = String(digits == null ? "" : digits);
      if (!DIGITS.test(text)) {
        this._error("digits", "digits must be 0-9, * or # (up to 32): " + JSON.stringify(text));
        return false;
      }
      if (!this._call) {
        this._error("digits", "no call in progress");
        return false;
      }
      this._call.sendDigits(text);
      return true;
    }

    /** Unregisters and destroys the Device; the object can be started again. */
    stop() {
      this._stopped = true;
      clearTimeout(this._retryTimer);
      this._retryTimer = null;
      document.removeEventListener("visibilitychange", this._onVisible);
      var device = this._device;
      this._device = null;
      if (device) {
        try {
          // destroy() disconnects any call and unregisters the endpoint.
          device.destroy();
        } catch (err) {
          this._error("stopped", (err && err.message) || String(err));
        }
      }
      if (this._call) {
        this._ended();
      }
      this._setState("unregistered");
      if (this._settle) {
        this._settle(false);
        this._settle = null;
      }
    }

    // --- inside ---

    /**
     * register() resolves only when the signalling server answers, and the SDK
     * retries an unreachable one for ever: settle on the first outcome instead
     * (registered: true; an error: false).
     */
    _register() {
      var device = this._device;
      if (!device || device.state !== "unregistered") {
        return Promise.resolve(this.registered);
      }
      var self = this;
      return new Promise(function (resolve) {
        self._settle = resolve;
        device.register().catch(function (err) {
          if (self._device === device) {
            self._error("device", (err && err.message) || String(err));
            self._setState("error");
          }
          resolve(false);
        });
      });
    }

    _listen(device) {
      var self = this;
      device.on("registering", function () {
        self._setState("registering");
      });
      device.on("registered", function () {
        self._reported = {};
        self._setState("registered");
      });
      device.on("unregistered", function () {
        // After an error the indicator keeps saying so until a registration succeeds.
        if (self._state !== "error") {
          self._setState("unregistered");
        }
      });
      device.on("error", function (err) {
        var code = err && err.code;
        // The SDK retries an unreachable server with back-off, repeating the same
        // errors: each is told once until a registration succeeds.
        if (!self._reported[code]) {
          self._reported[code] = true;
          self._error("device", (code ? code + " " : "") + ((err && err.message) || String(err)));
        }
        if (TOKEN_ERRORS[code] && Date.now() - self._tokenErrorAt >= TOKEN_ERROR_REFRESH_MS) {
          self._tokenErrorAt = Date.now();
          self._refresh();
        }
        if (self._state !== "registered") {
          self._setState("error");
        }
      });
      device.on("tokenWillExpire", function () {
        self._refresh();
      });
      device.on("incoming", function (call) {
        self._incoming(call);
      });
    }

    _incoming(call) {
      if (this._call) {
        // The SDK already ignores invites while busy; this covers a late one.
        call.reject();
        return;
      }
      var self = this;
      this._call = call;
      this._callInfo = describe(call, "incoming");
      this._muted = false;
      call.on("accept", function () {
        if (self._muted) {
          call.mute(true);
        }
        self._onCall("talking", self._callInfo);
      });
      call.on("disconnect", function () {
        self._ended();
      });
      call.on("cancel", function () {
        self._ended();
      });
      call.on("reject", function () {
        self._ended();
      });
      call.on("error", function (err) {
        self._error("call", ((err && err.code) ? err.code + " " : "") + ((err && err.message) || String(err)));
      });
      this._onCall("ringing", this._callInfo);
      // The bridge of a customer who already answered: take it at once.
      call.accept();
    }

    _ended() {
      var info = this._callInfo;
      this._call = null;
      this._callInfo = null;
      // The next customer is never greeted muted by a setting left from this one.
      this._muted = false;
      this._onCall("ended", info);
    }

    /** One refresh at a time: a new token into the Device, again later on failure. */
    _refresh() {
      if (this._refreshing || this._stopped || !this._device) {
        return this._refreshing;
      }
      var self = this;
      var device = this._device;
      clearTimeout(this._retryTimer);
      this._retryTimer = null;
      this._refreshing = (async function () {
        try {
          var got = await self._fetchToken();
          if (self._device !== device) {
            return;
          }
          self._expiresAt = got.expires_at;
          device.updateToken(got.token);
          if (device.state === "unregistered") {
            await self._register();
          }
        } catch (err) {
          self._error("token_refresh", (err && err.message) || String(err));
          var left = expiresInMs(self._expiresAt);
          if (!self._stopped && (left === null || left > 0)) {
            self._retryTimer = setTimeout(function () {
              self._refresh();
            }, REFRESH_RETRY_MS);
          }
        } finally {
          self._refreshing = null;
        }
      })();
      return this._refreshing;
    }

    // A tab left hidden may have slept through tokenWillExpire: check on return.
    _onVisible() {
      if (document.visibilityState !== "visible" || !this._device) {
        return;
      }
      var left = expiresInMs(this._expiresAt);
      if (left !== null && left < REFRESH_BEFORE_MS) {
        this._refresh();
      } else if (this._device.state === "unregistered") {
        this._register();
      }
    }

    _setState(state) {
      if ((state === "registered" || state === "error") && this._settle) {
        var settle = this._settle;
        this._settle = null;
        settle(state === "registered");
      }
      if (state === this._state) {
        return;
      }
      this._state = state;
      this._onRegistration(state);
    }

    _error(code, message) {
      try {
        this._onError(code, message);
      } catch (err) {
        // A broken handler must not stop the phone.
        if (window.console) {
          window.console.error(err);
        }
      }
    }
  }

  window.DialerTwilioPhone = DialerTwilioPhone;
})();

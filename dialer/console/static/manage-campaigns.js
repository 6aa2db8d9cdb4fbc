// The campaigns pages of the manager console (filled in by the next commits).
"use strict";

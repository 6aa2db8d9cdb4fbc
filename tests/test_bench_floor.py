"""The predictive floor benchmark's --quick (scripts/bench/floor.py): it must
run every floor the full benchmark runs, and its moving day's campaign file
must be the built-in campaign but for the hour its calling hours open.
(The runs themselves are the benchmark's, not a test's: they take seconds.)"""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType

from dialer.campaign.service import load_campaign_file
from dialer.simulation import BUILTIN_CAMPAIGN, SimConfig, _definition

REPO = Path(__file__).resolve().parents[1]


def _bench() -> ModuleType:
    path = REPO / "scripts" / "bench" / "floor.py"
    spec = importlib.util.spec_from_file_location("bench_floor", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules.setdefault("bench_floor", module)
    spec.loader.exec_module(module)
    return module


def test_quick_runs_every_floor_of_the_full_benchmark(tmp_path: Path) -> None:
    bench = _bench()
    moving = bench.moving_campaign(tmp_path / "moving.toml")
    quick = bench.floors(quick=True, moving_file=moving)
    full = bench.floors(quick=False)
    assert quick.keys() == full.keys()
    for name, config in quick.items():
        assert config.agents == full[name].agents, name
        assert config.answer_rates == full[name].answer_rates, name
        assert config.minutes == bench.QUICK_MINUTES[name], name
    assert bench.best_hour_floor(quick=True).days >= 2


def test_the_moving_campaign_is_the_built_in_one_opening_at_11_45(tmp_path: Path) -> None:
    bench = _bench()
    path = bench.moving_campaign(tmp_path / "moving.toml")
    loaded = load_campaign_file(path).model_dump(mode="json")
    builtin = _definition(SimConfig()).model_dump(mode="json")
    assert loaded["calling_hours"] == [
        {**rule, "start": "11:45"} for rule in builtin["calling_hours"]
    ]
    loaded.pop("calling_hours")
    builtin.pop("calling_hours")
    assert loaded == builtin
    assert loaded["seller_name"] == BUILTIN_CAMPAIGN["seller_name"]

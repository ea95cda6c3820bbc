import io

import pytest

from callbacks import jobs
from callbacks.profile import current_columns, distribution_for, render, stored_profile
from dashboard.errors import InvalidParameter

CSV = b"a,b\n" + b"".join(f"{i},{i % 3}\n".encode() for i in range(300))


def ingest(services, session, content=CSV, name="t.csv"):
    upload = services.uploads.receive(session, name, io.BytesIO(content))
    request = {"kind": "ingest", "source": "upload", "upload_id": upload.upload_id}
    assert jobs.execute(services, session, request)["ok"]


def test_prof001_profile_of_sampled_data_has_streamed_full_statistics(make_app):
    services = make_app(sample_threshold_rows=100, sample_rows=50).services
    session = services.signer.new()
    ingest(services, session)
    result = jobs.execute(services, session, {"kind": "profile"})
    assert result["ok"] and result["message"] == "Profiled 50 rows × 2 columns."
    profile, stale = stored_profile(services, session)
    assert not stale
    assert profile["overview"]["rows"] == 50
    full = {s["name"]: s for s in profile["full"]["stats"]}
    assert profile["full"]["rows"] == 300
    assert full["a"]["min"] == 0 and full["a"]["max"] == 299 and full["a"]["mean"] == 149.5


def test_prof002_new_data_makes_the_profile_stale_and_cleaning_refreshes_it(make_app):
    services = make_app().services
    session = services.signer.new()
    ingest(services, session)
    assert jobs.execute(services, session, {"kind": "profile"})["ok"]
    ingest(services, session, CSV + b"1,1\n", "again.csv")
    assert stored_profile(services, session)[1] is True  # from an earlier version

    cleaned = jobs.execute(
        services, session, {"kind": "clean", "steps": [{"op": "remove_duplicates"}]}
    )
    assert cleaned["ok"], cleaned
    profile, stale = stored_profile(services, session)
    assert not stale and profile["overview"]["rows"] == 300
    assert cleaned["dataset"]["rows"] == 300

    undone = jobs.execute(services, session, {"kind": "undo"})
    assert undone["ok"] and undone["dataset"]["rows"] == 301
    assert stored_profile(services, session)[0]["overview"]["rows"] == 301


def test_prof003_cleaning_that_removes_every_row_is_refused_and_nothing_changes(make_app):
    services = make_app().services
    session = services.signer.new()
    ingest(services, session, b"a,b\n-1,x\n-2,y\n-3,z\n")
    before = services.store.info_by_name(session, "data")
    steps = [{"op": "fix_negative", "columns": ["a"], "action": "drop_row"}]
    result = jobs.execute(services, session, {"kind": "clean", "steps": steps})
    assert not result["ok"] and "would remove every row" in result["message"]
    gone = [{"op": "trim_text", "columns": ["nope"]}]
    result = jobs.execute(services, session, {"kind": "clean", "steps": gone})
    assert not result["ok"] and "'nope' is not in the dataset any more" in result["message"]
    after = services.store.info_by_name(session, "data")
    assert (after.key, after.version) == (before.key, before.version)


def test_prof004_distributions_come_from_the_stored_profile_not_the_data(make_app, monkeypatch):
    services = make_app().services
    session = services.signer.new()
    ingest(services, session)
    assert jobs.execute(services, session, {"kind": "profile"})["ok"]

    def no_reading(*args, **kwargs):
        raise AssertionError("the web side read the data")

    monkeypatch.setattr(type(services.store), "read_frame", no_reading)
    dist = distribution_for(services, session, "a")
    assert dist["kind"] == "histogram" and sum(dist["counts"]) == 300
    with pytest.raises(InvalidParameter, match="No distribution for “nope”"):
        distribution_for(services, session, "nope")


def test_prof005_cleaning_offers_the_current_columns_when_the_profile_is_stale(make_app):
    services = make_app().services
    session = services.signer.new()
    ingest(services, session)
    assert jobs.execute(services, session, {"kind": "profile"})["ok"]
    ingest(services, session, b"x,y,z\n1,2,3\n4,5,6\n", "other.csv")
    profile, stale = stored_profile(services, session)
    assert stale and [c["name"] for c in profile["columns"]] == ["a", "b"]
    assert current_columns(services, session) == ["x", "y", "z"]
    _note, content = render(services, session)
    assert "x" in str(content) and "'a'" not in str(content.children[5])


def test_prof006_undo_after_loading_another_dataset_restores_nothing(make_app):
    services = make_app().services
    session = services.signer.new()
    ingest(services, session, CSV + CSV[4:], "first.csv")  # 600 rows, 300 duplicates
    cleaned = jobs.execute(
        services, session, {"kind": "clean", "steps": [{"op": "remove_duplicates"}]}
    )
    assert cleaned["ok"], cleaned
    ingest(services, session, b"x,y,z\n1,2,3\n4,5,6\n", "second.csv")

    undone = jobs.execute(services, session, {"kind": "undo"})
    assert not undone["ok"] and undone["message"] == "There is nothing to undo."
    data = services.store.info_by_name(session, "data")
    assert (data.rows, data.columns, data.meta["source"]["filename"]) == (2, 3, "second.csv")


def test_prof007_a_new_sample_forgets_the_undo_and_the_cleaning_steps(make_app):
    services = make_app(sample_threshold_rows=100, sample_rows=50).services
    session = services.signer.new()
    ingest(services, session)
    cleaned = jobs.execute(
        services, session, {"kind": "clean", "steps": [{"op": "normalize_column_names"}]}
    )
    assert cleaned["ok"], cleaned
    resampled = jobs.execute(
        services, session, {"kind": "ingest", "source": "resample", "size": 60}
    )
    assert resampled["ok"], resampled
    data = services.store.info_by_name(session, "data")
    assert data.rows == 60 and "steps" not in data.meta
    assert services.store.info_by_name(session, "data_previous") is None
    assert not jobs.execute(services, session, {"kind": "undo"})["ok"]

"""Outputs are checked before anything flies, trains or collects."""

import pytest


@pytest.fixture
def a_file(tmp_path):
    path = tmp_path / "a_file"
    path.write_text("not a folder")
    return path


@pytest.mark.parametrize("video", ["out.avi", "out.MP4", "out", "clip.mp4.txt"])
def test_a_video_we_cannot_write_fails_before_any_env_is_made(cli, no_env, tmp_path, video):
    r = cli("rollout", "--agent", "expert", "--episodes", "50", "--video", tmp_path / video)
    assert r.code == 2 and "videos are written as .mp4 or .gif" in r.err
    assert not no_env and list(tmp_path.iterdir()) == []


def test_video_folder_must_be_writable(cli, no_env, a_file):
    r = cli("rollout", "--agent", "expert", "--video", a_file / "sub" / "v.mp4")
    assert r.code == 2 and "is a file, not a folder" in r.err and not no_env


@pytest.mark.parametrize("command", [["demo", "--expert"], ["collect", "--task", "hover"], ["train", "--obs", "kin"]])
def test_an_out_folder_we_cannot_write_fails_before_any_work(cli, no_env, a_file, tmp_path, monkeypatch, command):
    monkeypatch.chdir(tmp_path)  # train would otherwise collect its default demonstrations under data/
    r = cli(*command, "--out", a_file / "sub")
    assert r.code == 2 and f"{a_file} is a file, not a folder; choose another --out" in r.err
    assert not no_env and sorted(p.name for p in tmp_path.iterdir()) == ["a_file"]

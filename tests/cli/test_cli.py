"""The command line: errors are reported, not raised; the demo writes its video and summary."""

import json

from ltc_drones.cli import main


def test_demo_writes_video_and_summary(tmp_path):
    assert main(["demo", "--episodes", "1", "--out", str(tmp_path)]) == 0
    summary = json.loads((tmp_path / "summary.json").read_text())
    assert summary["episodes"] == 1 and summary["video"] and summary["successes"] in (0, 1)
    assert (tmp_path / summary["video"].split("/")[-1]).stat().st_size > 1000


def test_bad_input_gives_a_message_and_exit_code_2(tmp_path, capsys):
    assert main(["collect", "--task", "hover", "--obs", "kin", "--episodes", "1", "--out", str(tmp_path / "d"),
                 "--workers", "1"]) == 0
    assert main(["collect", "--task", "hover", "--obs", "rgb", "--episodes", "1", "--out", str(tmp_path / "d"),
                 "--workers", "1"]) == 2
    assert "does not match" in capsys.readouterr().err
    assert main(["demo", "--agent", str(tmp_path / "missing.pt")]) == 2
    assert "no agent" in capsys.readouterr().err
    assert main(["train", "--arch", "transformer"]) == 2
    assert "valid architectures" in capsys.readouterr().err

"""The generated evaluation set: exact ground truth, sentences disjoint from the dev set."""

from __future__ import annotations

import json
import random
import shutil
from pathlib import Path

import pytest

from lahstats.evaluation import generate
from lahstats.evaluation.dataset import load_dataset, reference_turns
from lahstats.evaluation.evidence import align
from lahstats.evaluation.synthesis import Voice
from lahstats.pipeline.count import tokens

DEV = Path(__file__).resolve().parents[3] / "shared" / "data" / "dev"


def composed(seed: int, n: int = 400) -> list[generate.Line]:
    composer = generate._Composer(random.Random(seed))
    makers = (composer.line, composer.backchannel, composer.near_miss, composer.plain)
    return [makers[index % len(makers)]() for index in range(n)]


def test_counts_follow_the_counting_rule() -> None:
    assert generate.counts("Can't lah, Sean. Walao, can or not? Ah.") == {
        "walao": 1,
        "lah": 1,
        "can": 1,
        "ah": 1,
    }


def test_the_synthesiser_is_given_respellings_and_the_truth_keeps_the_canonical_words() -> None:
    for line in composed(seed=5):
        said = tokens(line.spoken)
        for word in generate.counts(line.text):
            if len(generate.SPOKEN[word]) == 1:
                continue
            # every multi-syllable target is respelt, so an English voice says it, not spells it
            if word not in generate.PARTICLES and word != "can":
                assert word not in said, (line.text, line.spoken)
    assert any(generate.counts(line.text) for line in composed(seed=5))


def test_near_misses_and_plain_lines_hold_no_target() -> None:
    for text in (*generate.NEAR_MISSES, *(f"{clause}." for clause in generate.CLAUSES)):
        assert generate.counts(text) == {}, text


@pytest.mark.skipif(not (DEV / "index.json").is_file(), reason=f"dev set not found at {DEV}")
def test_no_dev_sentence_is_reused() -> None:
    dev_lines = set()
    for transcript in DEV.glob("synthetic/**/*.transcript.json"):
        for segment in json.loads(transcript.read_text())["segments"]:
            if len(said := tokens(segment["text"])) >= 4:  # not "okay lor", "can, can"
                dev_lines.add(" ".join(said))
    ours = {" ".join(tokens(text)) for text in (*generate.NEAR_MISSES, *generate.CLAUSES)}
    ours |= {" ".join(tokens(line.text)) for line in composed(seed=1)}
    ours = {line for line in ours if len(line.split()) >= 4}
    assert not {line for line in ours if any(line in dev or dev in line for dev in dev_lines)}


@pytest.mark.skipif(shutil.which("espeak-ng") is None, reason="apt-get install espeak-ng")
def test_a_generated_set_loads_and_its_references_agree(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # espeak only: the fastest engine, enough to check the files
    espeak = tuple(v for v in generate.voice_pool() if v.engine == "espeak")
    monkeypatch.setattr(generate, "voice_pool", lambda: espeak)
    generate.generate(tmp_path, recordings=2, seed=3, lines=4)
    recordings = load_dataset(tmp_path)
    assert [r.id for r in recordings] == ["gen03_conv01", "gen03_conv02"]
    for recording in recordings:
        assert recording.exact
        assert recording.groundtruth is not None
        segments = json.loads(recording.transcript.read_text())["segments"]  # type: ignore[union-attr]
        turns = reference_turns(recording)
        assert len(turns) == len(segments) == 4
        for speaker, counts in recording.groundtruth.items():
            said = [
                token
                for segment in segments
                if segment["speaker"] == speaker
                for token in tokens(segment["text"])
            ]
            assert counts == {word: said.count(word) for word in generate.TARGETS}
    entries = json.loads((tmp_path / "index.json").read_text())["entries"]
    used = [voice for entry in entries for voice in entry["voices"]]
    assert used
    assert not [v for v in used for dev in generate.DEV_VOICES if f"{v}-".startswith(f"{dev}-")]


def test_alignment_gives_each_reference_word_what_was_written_for_it() -> None:
    reference = ["wah", "so", "shiok", "lah"]
    hypothesis = ["wah", "so", "she", "oak", "la"]
    spans = {reference[r]: hypothesis[lo:hi] for r, lo, hi in align(reference, hypothesis)}
    assert spans == {"wah": ["wah"], "so": ["so"], "shiok": ["she", "oak"], "lah": ["la"]}
    assert align(["walao", "eh"], []) == [(0, 0, 0), (1, 0, 0)]


def test_a_conversation_picks_voices_of_different_people_while_there_are_any() -> None:
    pool = [
        Voice("flite", "kal"),
        Voice("flite", "kal16"),
        Voice("festival", "kal_diphone"),
        Voice("espeak", "en-us+f3"),
        Voice("espeak", "en-gb+f3"),
        Voice("espeak", "en-029"),
    ]
    for seed in range(40):
        three = generate._pick(random.Random(seed), pool, 3)
        assert len({voice.person for voice in three}) == 3
        # more speakers than people: every person once, then other voices of them
        five = generate._pick(random.Random(seed), pool, 5)
        assert len(set(five)) == 5
        assert len({voice.person for voice in five}) == 3


def test_dev_like_acoustics_put_backchannels_inside_lines_and_lines_over_lines() -> None:
    line = {"start": 10.0, "end": 14.0, "kind": "line"}
    always = generate.Acoustics(inside=1.0, overlap=1.0, rng=random.Random(0))
    for _ in range(50):
        inside = always.start("backchannel", 14.3, line)
        assert 10.0 + 0.45 * 4 <= inside <= 10.0 + 0.85 * 4
        over = always.start("line", 14.4, line)
        assert 12.0 <= over < 14.0  # before the line ends, not before its middle
    never = generate.Acoustics(inside=0.0, overlap=0.0, rng=random.Random(0))
    assert never.start("backchannel", 14.3, line) == 14.3
    assert never.start("line", 14.4, line) == 14.4
    # a backchannel after a backchannel stays where it was; plain acoustics move nothing
    assert always.start("backchannel", 14.3, {**line, "kind": "backchannel"}) == 14.3
    assert generate.Acoustics().start("line", 14.4, line) == 14.4


@pytest.mark.skipif(shutil.which("espeak-ng") is None, reason="apt-get install espeak-ng")
def test_acoustics_change_when_and_how_lines_are_said_not_what_or_by_whom() -> None:
    voices = [Voice("espeak", "en-us"), Voice("espeak", "en+f3")]
    _, plain = generate.conversation(random.Random(4), voices, lines=8, zero_targets=False)
    acoustics = generate.Acoustics(
        inside=1.0, overlap=1.0, gains=(1.0, 0.5), room=True, rng=random.Random(1)
    )
    audio, overlapped = generate.conversation(
        random.Random(4), voices, lines=8, zero_targets=False, acoustics=acoustics
    )
    assert [(s["speaker"], s["text"]) for s in overlapped] == [
        (s["speaker"], s["text"]) for s in plain
    ]
    assert generate._overlap_seconds(plain) < generate._overlap_seconds(overlapped)
    assert len(audio) / 16_000 >= max(float(s["end"]) for s in overlapped)  # type: ignore[arg-type]


def test_overlap_seconds_count_only_where_two_talk_at_once() -> None:
    segments = [
        {"start": 0.0, "end": 4.0},
        {"start": 3.0, "end": 5.0},
        {"start": 3.5, "end": 3.7},  # three at once: still counted once
        {"start": 6.0, "end": 7.0},
    ]
    assert generate._overlap_seconds(segments) == pytest.approx(1.0)
    assert generate._overlap_seconds(segments[3:]) == 0.0

"""Our own synthetic Singlish evaluation set: sentences and voices disjoint from ``../shared/data``.

Every rule, variant and threshold of the corrector must be backed by evidence that was not tuned
on the dev recordings. This module makes that evidence: seeded multi-speaker conversations in the
same layout as ``../shared/data/dev`` (``index.json``, RTTM, transcript, ground truth), so that
``lahstats eval OUT`` scores them exactly like the dev set, and so that the lexicon tools
(``lahstats.evaluation.evidence``) can read what a recogniser writes for each target word.

What makes it independent of dev:

- **Sentences** are composed from a clause bank written here (no dev sentence, checked by a test)
  and a carrier phrase per target word; particles go where Singlish puts them, at clause ends.
  Near-miss lines carry the English look-alikes ("Sean", "Asia", "the law", "a lot", "me") that
  must not be counted.
- **Voices** are every installed synthesiser voice except those the dev set uses, each with a
  random pitch and tempo, so no recording's speakers sound like a dev speaker.
- **Spellings given to the synthesiser**: each target is said from one of several respellings
  ("wah lau", "wa lao"), since an English synthesiser reads "walao" letter by letter.
- **Acoustics** as the data README describes dev's ("overlaps, noise, reverb"), drawn apart from
  the lines and voices (``Acoustics``; ``--plain`` leaves them out): backchannels inside the
  line before, lines that start before the last one ends, levels, noise and a room.

The ground truth is counted from the canonical text with the counting rule of the data README
(lower case, ``[a-z]+('[a-z]+)*`` tokens, exact matches), so it is exact by construction.

    python -m lahstats.evaluation.generate OUT --recordings 8 --seed 1
"""

from __future__ import annotations

import argparse
import json
import random
import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import soundfile as sf

from lahstats.evaluation.synthesis import (
    SAMPLE_RATE,
    Voice,
    available_voices,
    reverberant,
    speak,
)
from lahstats.lexicon.lexicon import load_lexicon
from lahstats.pipeline.count import tokens

TARGETS = load_lexicon().words  # the 20 words of the data README, in the app's order
_TARGET = re.compile(r"(?i)\b(?:" + "|".join(TARGETS) + r")\b(?!')")

# Voices the dev set is made of (read off its audio by ear and by speaker embedding): never used.
DEV_VOICES = frozenset(
    {
        "flite-slt",
        "flite-rms",
        "kokoro-jm_kumo",
        "kokoro-jf_gongitsune",
        "festival-ked_diphone",
        "espeak-en-gb+m3",
    }
)

# How each target is given to an English synthesiser (one picked per use). Particles are said as
# written; "ah" alone is read as the letter "a" by some engines, so it is also spelt "ahh".
SPOKEN: dict[str, tuple[str, ...]] = {
    "walao": ("wah lau", "wa lao", "wah lao"),
    "cheebai": ("chee bye", "chee bai"),
    "lanjiao": ("lan jiao", "lan jee ow"),
    "lah": ("lah",),
    "lor": ("lor", "lorr"),
    "sia": ("see ah", "syah"),
    "meh": ("meh",),
    "leh": ("leh",),
    "hor": ("hor", "horr"),
    "ah": ("ah", "ahh"),
    "can": ("can",),
    "paiseh": ("pie seh", "pai seh"),
    "shiok": ("shee ock", "shyok"),
    "sian": ("see en", "syen"),
    "alamak": ("ah lah mak", "alla mak"),
    "aiyo": ("eye yo", "ai yoh"),
    "bodoh": ("boh doh", "bo doh"),
    "kiasu": ("kee ah soo", "kyah soo"),
    "kiasi": ("kee ah see", "kyah see"),
    "bojio": ("boh jee oh", "bo jee oh"),
}
PARTICLES = ("lah", "lor", "leh", "meh", "hor", "ah", "sia")

# Plain clauses, no target word in them: the body of a line, a particle may follow.
CLAUSES = (
    "the bus never come already",
    "my phone battery almost flat",
    "we go eat prata after this",
    "the aircon in this office too cold",
    "he always reach late one",
    "you want to share a taxi",
    "the hawker centre closed on Monday",
    "this weekend I need to move house",
    "my mother cook too much rice again",
    "the printer jam every morning",
    "tomorrow got exam I haven't study",
    "the queue at the clinic very long",
    "she buy the same shoes in three colours",
    "my landlord want to raise the rent",
    "the durian this year quite cheap",
    "you bring umbrella or not",
    "the train stuck between two stations",
    "my boss reply the email at midnight",
    "we split the bill five ways",
    "the kopi here too sweet for me",
    "your brother still working in the bank",
    "the wifi at home keep dropping",
    "I forgot to top up my card",
    "this laptop already seven years old",
    "the football match start at eight",
    "my cat sleep on the keyboard again",
    "the car park full until the top floor",
    "we should book the chalet early",
    "the lift under maintenance the whole week",
    "my neighbour renovating since March",
    "the noodles here really worth the wait",
    "the project deadline move to Friday",
    "you try the new bubble tea shop",
    "the rain so heavy the road flooded",
    "my grandmother birthday this Sunday",
    "the teacher give us so much homework",
    "the gym very crowded after work",
    "I lost my earphones on the train",
    "we meet at the usual place",
    "the price of petrol go up again",
    "my sister getting married next year",
    "the movie three hours long",
    "the fish soup stall sold out",
    "your dog bark the whole night",
    "the meeting might finish earlier",
    "I wait for you at the void deck",
    "the sale end this weekend",
    "my knee pain after running",
    "the mall so packed on a Saturday",
    "we order too much food",
)
# Lines a careless corrector would count: English look-alikes of the targets, no target at all.
NEAR_MISSES = (
    "Sean said he would call me after lunch.",
    "The law firm is hiring interns in Asia.",
    "I need a lot of sleep this week.",
    "Let me know when you leave the office.",
    "She showed me the shop near the sea.",
    "Her lecture was moved to the main hall.",
    "The price is lower if you order online.",
    "My cousin may come over on Sunday.",
    "Who left the lights on in the kitchen?",
    "The news came as a shock to all of us.",
    "I saw Sean at the airport yesterday.",
    "The cheap bags sold out before noon.",
    "Hello, is anyone sitting here?",
    "The rules of the hall are posted on the door.",
    "He reads the law report every morning.",
    "Drive slow, the road is wet.",
    "My manager signed the form for me.",
    "Go see who is at the door.",
    "The scene was shot in an old warehouse.",
    "They sell pies near the bus stop.",
    "Say bye to your uncle before we go.",
    "The low tide leaves the rocks bare.",
    "Or we could leave a bit later.",
    "How long does the ferry take?",
    "Men and women queue at separate counters.",
)
# Short replies over the end of someone else's turn.
BACKCHANNELS = (
    "ah.",
    "can, can.",
    "okay lor.",
    "really ah?",
    "yes lah.",
    "mm.",
    "true, true.",
    "aiyo.",
    "wah.",
    "then lor.",
    "sian.",
    "walao.",
    "okay.",
)
# Where each multi-syllable target goes; "{}" is the word, "{C}" a clause.
CARRIERS: dict[str, tuple[str, ...]] = {
    "walao": ("{}, {C}.", "{} eh, {C}?", "{}, why like that?"),
    "aiyo": ("{}, {C}.", "{}, I told you already.", "{}, so careless."),
    "alamak": ("{}, {C}.", "{}, I forgot my wallet.", "{}, now how?"),
    "cheebai": ("That {} driver cut my lane.", "{}, {C}.", "The {} guy never pay me back."),
    "lanjiao": ("{}, he never say sorry.", "Don't talk {} to me.", "What {} excuse is that?"),
    "paiseh": ("So {}, I late again.", "{}, can you help me?", "Very {} to ask you."),
    "shiok": ("The chicken wing damn {}.", "Wah, this one very {}.", "{}, the water so cold."),
    "sian": ("So {}, {C}.", "{}, another meeting.", "Monday morning very {}."),
    "bodoh": ("Don't be so {}.", "That guy really {} one.", "{}, you press the wrong button."),
    "kiasu": (
        "So {}, reserve the seats with tissue.",
        "Don't be {}, there is enough.",
        "{} parents queue since six.",
    ),
    "kiasi": (
        "So {}, wear two masks.",
        "He very {}, never go out at night.",
        "Don't be {}, the ride is safe.",
    ),
    "bojio": ("Why you {} me?", "You all go {} ah?", "Next time don't {}."),
    "can": ("{C}, {} or not?", "Sure {} one.", "{} you pass me the salt?"),
}


@dataclass(frozen=True, slots=True)
class Line:
    text: str  # canonical Singlish spelling: what is counted
    spoken: str  # what the synthesiser was given
    kind: str  # line, backchannel, near_miss


@dataclass(slots=True)
class _Composer:
    rng: random.Random

    def respell(self, text: str) -> str:
        """``text`` as the synthesiser is given it: each target from one of its respellings."""

        def say(match: re.Match[str]) -> str:
            word = match.group(0)
            spoken = self.rng.choice(SPOKEN[word.lower()])
            return _capital(spoken) if word[0].isupper() else spoken

        return _TARGET.sub(say, text)

    def _line(self, text: str, kind: str) -> Line:
        return Line(text, self.respell(text), kind)

    def line(self) -> Line:
        """A line with one or two targets: a carrier phrase and/or a particle at a clause end."""
        rng = self.rng
        parts: list[str] = []
        if rng.random() < 0.6:
            word = rng.choice(tuple(CARRIERS))
            carrier = rng.choice(CARRIERS[word]).replace("{C}", rng.choice(CLAUSES))
            parts.append(_capital(carrier.replace("{}", word)))
        if not parts or rng.random() < 0.7:
            particle = rng.choice(PARTICLES)
            clause = rng.choice(CLAUSES)
            if particle == "sia":
                clause = rng.choice(("so hot", "so nice", "damn fast", "very far", "so ex"))
            end = "?" if particle in ("meh", "ah") and rng.random() < 0.6 else "."
            parts.append(f"{_capital(clause)} {particle}{end}")
        rng.shuffle(parts)
        return self._line(" ".join(parts), "line")

    def plain(self) -> Line:
        return self._line(f"{_capital(self.rng.choice(CLAUSES))}.", "plain")

    def near_miss(self) -> Line:
        return self._line(self.rng.choice(NEAR_MISSES), "near_miss")

    def backchannel(self) -> Line:
        return self._line(_capital(self.rng.choice(BACKCHANNELS)), "backchannel")


def counts(text: str) -> dict[str, int]:
    """Target counts of a canonical text, by the data README's counting rule."""
    said = tokens(text)
    return {word: n for word in TARGETS if (n := said.count(word))}


def voice_pool() -> tuple[Voice, ...]:
    """Installed voices that are not dev voices."""
    return tuple(voice for voice in available_voices() if voice.id not in DEV_VOICES)


@dataclass(frozen=True, slots=True)
class Acoustics:
    """How a recording's speech overlaps and sounds: talk as the data README describes the dev
    set ("overlaps, noise, reverb"), drawn apart from the sentences and voices, so a set made
    with and without it holds the same lines said by the same voices.

    - ``inside``: the share of backchannels said inside the line before, 45-85 % of the way
      through it ("Aiyo." over a sentence), rather than after it or over its last half second.
    - ``overlap``: the share of lines that start 0.2-0.8 s before the line before has ended.
    - ``gains``: each speaker's level, 0 to -3 dB; ``room``: the recording heard in a room.
    """

    inside: float = 0.0
    overlap: float = 0.0
    gains: tuple[float, ...] = ()
    room: bool = False
    rng: random.Random | None = None

    @classmethod
    def drawn(cls, rng: random.Random, speakers: int) -> Acoustics:
        return cls(
            inside=0.65,
            overlap=rng.choice((0.05, 0.15, 0.25, 0.35)),
            gains=tuple(10 ** (-rng.uniform(0.0, 3.0) / 20) for _ in range(speakers)),
            room=rng.random() < 0.25,
            rng=rng,
        )

    def start(self, kind: str, start: float, before: dict[str, object] | None) -> float:
        """Where a line of ``kind`` starts, given where it would have (``start``) and the line
        before it."""
        if self.rng is None or before is None:
            return start
        low, high = float(before["start"]), float(before["end"])  # type: ignore[arg-type]
        if kind == "backchannel" and before["kind"] != "backchannel":
            if self.rng.random() < self.inside:
                return low + self.rng.uniform(0.45, 0.85) * (high - low)
        elif kind != "backchannel" and self.rng.random() < self.overlap:
            return max(low + 0.5 * (high - low), high - self.rng.uniform(0.2, 0.8))
        return start


def conversation(
    rng: random.Random,
    voices: Sequence[Voice],
    *,
    lines: int,
    zero_targets: bool,
    acoustics: Acoustics | None = None,
) -> tuple[np.ndarray, list[dict[str, object]]]:
    """One recording: ``lines`` turns among ``voices``, some backchannels over the end of a turn,
    and with ``acoustics`` inside turns, turns over turns, levels and a room.

    A zero-target recording holds only near misses and plain clauses, to count false targets.
    """
    acoustics = acoustics or Acoustics()
    composer = _Composer(rng)
    names = [f"g{index + 1:02d}" for index in range(len(voices))]
    pieces: list[tuple[float, np.ndarray]] = []
    segments: list[dict[str, object]] = []
    cursor = 0.3
    previous = -1
    for _ in range(lines):
        speaker = rng.choice([i for i in range(len(voices)) if i != previous] or [0])
        roll = rng.random()
        if zero_targets:
            line = composer.near_miss() if roll < 0.6 else composer.plain()
        elif roll < 0.15:
            line = composer.near_miss()
        elif roll < 0.33:
            line = composer.backchannel()
        else:
            line = composer.line()
        audio = speak(line.spoken, voices[speaker])
        if line.kind == "backchannel" and segments and rng.random() < 0.4:
            # over the last half second of the previous turn
            start = max(0.0, cursor - rng.uniform(0.2, 0.6))
        else:
            start = cursor + rng.uniform(0.15, 0.7)
        start = acoustics.start(line.kind, start, segments[-1] if segments else None)
        end = start + len(audio) / SAMPLE_RATE
        gain = acoustics.gains[speaker] if acoustics.gains else 1.0
        pieces.append((start, audio * gain))
        segments.append(
            {
                "start": round(start, 3),
                "end": round(end, 3),
                "speaker": names[speaker],
                "voice": voices[speaker].id,
                "text": line.text,
                "tts_text": line.spoken,
                "kind": line.kind,
                "target_counts": counts(line.text),
            }
        )
        cursor = max(cursor, end)
        previous = speaker
    total = np.zeros(int((cursor + 0.5) * SAMPLE_RATE), dtype=np.float32)
    for start, audio in pieces:
        at = int(start * SAMPLE_RATE)
        total[at : at + len(audio)] += audio * 0.7
    if acoustics.room and acoustics.rng is not None:
        total = reverberant(total, np.random.default_rng(acoustics.rng.randrange(2**32)))
    return total, segments


def generate(
    out: Path, *, recordings: int, seed: int, lines: int = 18, dev_like: bool = True
) -> Path:
    """Write ``recordings`` conversations and an ``index.json`` under ``out``; returns the index."""
    pool = voice_pool()
    if len(pool) < 2:
        raise RuntimeError(
            "fewer than two synthesiser voices are installed: apt-get install espeak-ng flite "
            "festival festvox-kallpc16k (and pip install -e '.[synth]' for Kokoro and Piper)"
        )
    rng = random.Random(seed)  # noqa: S311 - reproducible data, not a secret
    out.mkdir(parents=True, exist_ok=True)
    entries = []
    for number in range(1, recordings + 1):
        uri = f"gen{seed:02d}_conv{number:02d}"
        n_speakers = rng.choice((2, 2, 3, 3, 4))
        voices = [
            Voice(
                base.engine,
                base.name,
                pitch_cents=rng.choice((0, 0, rng.randrange(-250, 350, 50))),
                tempo=rng.choice((1.0, 1.0, round(rng.uniform(0.88, 1.15), 2))),
            )
            for base in _pick(rng, pool, n_speakers)
        ]
        zero_targets = number % 4 == 0  # every fourth recording: near misses and plain lines only
        # drawn apart from the lines and voices: the same conversation whatever its acoustics
        acoustics = (
            Acoustics.drawn(random.Random(f"{seed} {number} acoustics"), len(voices))  # noqa: S311
            if dev_like
            else None
        )
        audio, segments = conversation(
            rng, voices, lines=lines, zero_targets=zero_targets, acoustics=acoustics
        )
        noise = rng.choice((None, -55, -48, -42))
        if noise is not None:
            audio = audio + np.random.default_rng(seed * 1000 + number).normal(
                0, 10 ** (noise / 20), len(audio)
            ).astype(np.float32)
        _write(out, uri=uri, audio=audio, segments=segments, noise=noise)
        entries.append(
            {
                "id": uri,
                "kind": "synthetic_conversation",
                "audio": f"{uri}.wav",
                "rttm": f"{uri}.rttm",
                "transcript": f"{uri}.transcript.json",
                "groundtruth": f"{uri}.groundtruth.json",
                "groundtruth_quality": "exact (by construction)",
                "n_speakers": len({s["speaker"] for s in segments}),
                "duration_s": round(len(audio) / SAMPLE_RATE, 3),
                "noise_dbfs": noise,
                "reverb": bool(acoustics and acoustics.room),
                "overlap_s": round(_overlap_seconds(segments), 3),
                "voices": [voice.id for voice in voices],
            }
        )
    index = out / "index.json"
    index.write_text(json.dumps({"split": f"generated-{seed}", "entries": entries}, indent=1))
    return index


def _overlap_seconds(segments: Sequence[dict[str, object]]) -> float:
    """Seconds during which two or more speakers talk at once."""
    edges = sorted(
        (float(segment[key]), step)  # type: ignore[arg-type]
        for segment in segments
        for key, step in (("start", 1), ("end", -1))
    )
    talking, since, total = 0, 0.0, 0.0
    for at, step in edges:
        if talking >= 2:
            total += at - since
        talking, since = talking + step, at
    return total


def _pick(rng: random.Random, pool: Sequence[Voice], n: int) -> list[Voice]:
    """``n`` voices of different people where the pool has that many (two voices of one person
    are one speaker to any diarizer: flite's "kal" and festival's "kal_diphone" were merged in
    3 of 16 conversations of seed 2), engines as evenly as possible (espeak alone has 19
    voices)."""
    engines: dict[str, list[Voice]] = {}
    for voice in pool:
        engines.setdefault(voice.engine, []).append(voice)
    names = list(engines)
    rng.shuffle(names)
    chosen: list[Voice] = []
    people = len({voice.person for voice in pool})
    while len(chosen) < n:
        taken = {voice.person for voice in chosen} if len(chosen) < people else set()
        for engine in names:
            left = [v for v in engines[engine] if v not in chosen and v.person not in taken]
            if left and len(chosen) < n:
                chosen.append(rng.choice(left))
                taken.add(chosen[-1].person)
    return chosen


def _write(
    out: Path,
    *,
    uri: str,
    audio: np.ndarray,
    segments: list[dict[str, object]],
    noise: float | None,
) -> None:
    peak = float(np.max(np.abs(audio))) or 1.0
    if peak > 0.98:
        audio = audio * (0.98 / peak)
    sf.write(out / f"{uri}.wav", audio, SAMPLE_RATE, subtype="PCM_16")
    speakers = sorted({str(s["speaker"]) for s in segments})
    (out / f"{uri}.rttm").write_text(
        "".join(
            f"SPEAKER {uri} 1 {float(s['start']):.3f} "  # type: ignore[arg-type]
            f"{float(s['end']) - float(s['start']):.3f} <NA> <NA> {s['speaker']} <NA> <NA>\n"  # type: ignore[arg-type]
            for s in segments
        )
    )
    (out / f"{uri}.transcript.json").write_text(
        json.dumps(
            {
                "uri": uri,
                "sample_rate": SAMPLE_RATE,
                "duration": round(len(audio) / SAMPLE_RATE, 3),
                "speakers": speakers,
                "noise_dbfs": noise,
                "segments": segments,
            },
            indent=1,
        )
    )
    truth = {speaker: dict.fromkeys(TARGETS, 0) for speaker in speakers}
    for segment in segments:
        for word, n in segment["target_counts"].items():  # type: ignore[attr-defined]
            truth[str(segment["speaker"])][word] += n
    (out / f"{uri}.groundtruth.json").write_text(json.dumps(truth, indent=1))


def _capital(text: str) -> str:
    return text[:1].upper() + text[1:]


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("out", type=Path)
    parser.add_argument("--recordings", type=int, default=8)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--lines", type=int, default=18)
    parser.add_argument(
        "--plain",
        action="store_true",
        help="lines one after another at one level, no room (the sets made before Acoustics)",
    )
    args = parser.parse_args(argv)
    index = generate(
        args.out,
        recordings=args.recordings,
        seed=args.seed,
        lines=args.lines,
        dev_like=not args.plain,
    )
    print(f"wrote {index}")


if __name__ == "__main__":
    main()

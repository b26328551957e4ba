"""The `grounding` command line: subcommands wired to the library, audio and speech modules."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from assistant import __version__
from assistant.disclaimer import show_disclaimer_once
from assistant.errors import GroundingError

SAMPLE_RATES = (8000, 16000, 22050, 24000, 32000, 44100, 48000, 96000)


def _warn(message: str) -> None:
    print(f"grounding: {message}", file=sys.stderr)


def _format_seconds(seconds: float) -> str:
    minutes, rest = divmod(round(seconds), 60)
    return f"{minutes}:{rest:02d}"


def cmd_list(args: argparse.Namespace) -> int:
    """Print every exercise (bundled and user), as a table or as JSON."""
    from assistant.audio.timeline import TimelineSettings, plan
    from assistant.library.loader import load_library

    settings = _settings()
    library = load_library(warn=_warn)
    rows = []
    for exercise in sorted(library.exercises.values(), key=lambda e: (e.kind, e.id)):
        # The length of the render, with speech lengths estimated at the pace it is spoken at.
        pace = CRISIS_WORDS_PER_MINUTE if exercise.kind == "crisis" else settings.words_per_minute
        seconds = plan(exercise, TimelineSettings(words_per_minute=pace)).seconds
        rows.append({"id": exercise.id, "title": exercise.title, "kind": exercise.kind, "seconds": round(seconds, 1)})
    if args.json:
        print(json.dumps(rows, indent=2, ensure_ascii=False))
        return 0
    width = max((len(row["id"]) for row in rows), default=2)
    for row in rows:
        print(f"{row['id']:<{width}}  {row['kind']:<12}  {_format_seconds(row['seconds']):>6}  {row['title']}")
    return 0


def cmd_check(args: argparse.Namespace) -> int:
    """Check exercise and cue files; FILE:LINE: message per problem, exit 1 if any is an error."""
    from assistant.library.loader import check_files

    paths = [Path(p) for p in args.paths]
    missing = [p for p in paths if not p.exists()]
    for path in missing:
        print(f"{path}:1: no such file or folder", file=sys.stdout)
    problems = check_files([p for p in paths if p.exists()])
    for problem in problems:
        print(problem)
    errors = [p for p in problems if not p.is_warning]
    if errors or missing:
        print(f"{len(errors) + len(missing)} problem(s) found", file=sys.stderr)
        return 1
    return 0


def cmd_new(args: argparse.Namespace) -> int:
    """Start an exercise of your own: a commented template, or a copy of an existing one, in your exercise folder."""
    from assistant.authoring import new_exercise
    from assistant.library.loader import load_library

    created = new_exercise(args.id, load_library(), copy_from=args.copy_from)
    for note in created.notes:
        _warn(f"note: {note}")
    print(f"wrote {created.path}")
    print(f"edit it, then `grounding check {created.path}`")
    return 0


def cmd_render(args: argparse.Namespace) -> int:
    """Render an exercise to a WAV file exactly as it would play, optionally with its timeline as JSON."""
    from assistant.audio.timeline import TimelineSettings
    from assistant.audio.tones import ToneSettings
    from assistant.audio.wavio import write_wav_blocks
    from assistant.errors import AudioFileError
    from assistant.library.loader import load_library
    from assistant.library.model import Play
    from assistant.session_audio import prepare, render_all, spoken_texts

    personal = _settings()
    library = load_library(warn=_warn)
    exercise = library.get(args.id)
    words_per_minute = _pace(args, exercise, personal)
    settings = TimelineSettings(sample_rate=args.sample_rate, words_per_minute=words_per_minute)
    voice = None if args.no_speech else _voice(args.voice or personal.voice, words_per_minute)
    # The file is written at the designed level: the volume setting is for live playback, and a
    # client turns a recording up or down on whatever plays it.
    tone = ToneSettings(low_hz=personal.tone_low_hz, high_hz=personal.tone_high_hz, noise=_noise(args, personal))
    session = prepare(exercise, voice, settings, tone=tone, warn=_warn)
    try:
        # Written to a temporary file in the same folder and renamed: a full disk leaves no half file behind.
        write_wav_blocks(Path(args.output), render_all(session.mixer), settings.sample_rate)
    except AudioFileError as exc:
        raise AudioFileError(
            f"{exc} No half-written file was left under that name. Make room on the disk, or choose a folder you can write to with -o."
        ) from None
    if args.timeline:
        try:
            _write_json_atomically(Path(args.timeline), session.timeline.to_json())
        except AudioFileError as exc:
            raise AudioFileError(f"{exc}; the audio itself was written to {args.output}") from None
    spoken = any(text in session.clips for text in spoken_texts(exercise))
    recordings = sum(isinstance(step, Play) for step in exercise.steps)
    speech = ("with speech" if spoken else "tones and chimes only") + (f", {recordings} recording(s)" if recordings else "")
    print(
        f"wrote {args.output}: {exercise.title}, {_format_seconds(session.timeline.seconds)}, "
        f"{settings.sample_rate} Hz, {speech}",
        file=sys.stderr,
    )
    return 0


def cmd_run(args: argparse.Namespace) -> int:
    """Play one exercise live: one output stream, keys, pacer and captions."""
    from assistant.library.loader import load_library
    from assistant.live import RunOptions, run_exercise

    personal = _settings()
    library = load_library(warn=_warn)
    exercise = library.get(args.id)
    options = RunOptions(
        sample_rate=args.sample_rate,
        speech=not args.no_speech,
        output_device=_device(args.output_device),
        volume=_volume_for(args, personal, bedside=args.bedside),
        pacer=not args.no_pacer,
        bedside=args.bedside,
        sleep_timer_minutes=args.sleep_timer,
        log=args.log,
        noise=_noise(args, personal),
        words_per_minute=_pace(args, exercise, personal),
        tone_low_hz=personal.tone_low_hz,
        tone_high_hz=personal.tone_high_hz,
    )
    voice = _voice(args.voice or personal.voice, options.words_per_minute) if options.speech else None
    show_disclaimer_once(_warn)
    print(f"{exercise.title}. {exercise.summary}".strip(), file=sys.stderr)
    for caution in exercise.cautions:
        print(f"  · {caution}", file=sys.stderr)
    with _quiet_audio_libraries():
        summary = run_exercise(exercise, options, voice, warn=_warn)
    minutes = _format_seconds(summary.played_seconds)
    how = "completed" if summary.completed else "stopped"
    cycles = f", {summary.cycles_completed} breathing cycles" if summary.cycles_completed else ""
    print(f"{exercise.title}: {how} after {minutes}{cycles}; {summary.underflows} audio dropouts.", file=sys.stderr)
    return 0


def cmd_crisis(args: argparse.Namespace) -> int:
    """Show the crisis resources large and clear, then speak them (unless --no-sound)."""
    from assistant.crisis import crisis_exercise, load_resources, screen_text
    from assistant.errors import AudioDeviceError
    from assistant.live import RunOptions, run_exercise

    resources = load_resources(warn=_warn)
    print(screen_text(resources), flush=True)
    if args.no_sound:
        return 0
    personal = _settings()
    # The person's voice and volume, but always the crisis pace and no noise bed.
    options = RunOptions(pacer=False, output_device=_device(args.output_device), volume=personal.volume, words_per_minute=CRISIS_WORDS_PER_MINUTE)
    try:
        with _quiet_audio_libraries():
            run_exercise(crisis_exercise(resources), options, _voice(personal.voice, CRISIS_WORDS_PER_MINUTE), warn=_warn, out=sys.stderr)
    except AudioDeviceError as exc:
        _warn(f"{exc}\nThe numbers are printed above.")
    return 0


def cmd_detect(args: argparse.Namespace) -> int:
    """What the assistant would hear: a transcript through the matcher, or a WAV file through the live detection path."""
    from assistant.library.loader import load_library
    from assistant.speech.cues import CueMatcher

    if (args.text is None) == (args.audio is None):
        raise GroundingError("give either an audio file (`grounding detect AUDIO.wav`) or --text \"...\", not both or neither")
    library = load_library(warn=_warn, language=args.language)
    if args.text is not None:
        detection = CueMatcher(library.cue_maps).match(args.text)
        detections = [] if detection is None else [detection.to_json(0.0)]
    else:
        from assistant.speech.engines import detect_file, make_detector
        from assistant.speech.models import open_recognizer_or_fall_back

        opened = open_recognizer_or_fall_back(args.engine, Path(args.model) if args.model else None, library.cue_maps, args.language, _warn)
        _warn(f"listening with {opened.description}")
        detections = [d.to_json() for d in detect_file(Path(args.audio), make_detector(opened, library.cue_maps))]
    for detection in detections:
        if args.json:
            print(json.dumps(detection, ensure_ascii=False))
        else:
            print(f"{detection['time_s']:7.2f} s  {detection['kind']}: {detection['intent']}  ({detection['text']})")
    if not detections and not args.json:
        print("nothing detected", file=sys.stderr)
    return 0


def cmd_listen(args: argparse.Namespace) -> int:
    """The main job: listen for cues and guide the person through what they ask for."""
    from assistant.listen import ListenOptions, run_listen

    show_disclaimer_once(_warn)
    personal = _settings()
    options = ListenOptions(
        engine=args.engine,
        model=args.model,
        input_device=_device(args.input_device),
        output_device=_device(args.output_device),
        sample_rate=args.sample_rate,
        speech=not args.no_speech,
        language=args.language,
        voice=args.voice or personal.voice,
        words_per_minute=args.words_per_minute or personal.words_per_minute,
        volume=_volume_for(args, personal),
        noise=_noise(args, personal),
        tone_low_hz=personal.tone_low_hz,
        tone_high_hz=personal.tone_high_hz,
        prefer=dict(personal.prefer),
    )
    with _quiet_audio_libraries():
        return run_listen(options, warn=_warn, out=sys.stdout)


def cmd_model(args: argparse.Namespace) -> int:
    """`grounding model download [NAME]`: the one command allowed to use the network."""
    from assistant.speech.models import run_download

    return run_download(args)


def cmd_devices(args: argparse.Namespace) -> int:
    """List the audio output devices `--output-device` accepts."""
    from assistant.devices import format_devices, list_output_devices

    print(format_devices(list_output_devices()))
    return 0


def _quiet_audio_libraries():
    """PortAudio's and ALSA's own lines about a lost device stay off the screen; ours say what happened."""
    from assistant.devices import NativeStderrFilter

    return NativeStderrFilter()


def _device(text: str | None) -> str | int | None:
    if text is None:
        return None
    return int(text) if text.isdigit() else text


CRISIS_WORDS_PER_MINUTE = 100.0  # the crisis script is read more slowly than guidance
GUIDANCE_WORDS_PER_MINUTE = 115.0


def _settings():
    """The person's config.yaml (defaults when there is none; a broken one warns and keeps the defaults)."""
    from assistant.config import load_settings

    return load_settings(warn=_warn)


def _pace(args: argparse.Namespace, exercise, settings) -> float:
    """The speech rate asked for, else the crisis pace for the crisis script, else the person's setting."""
    if args.words_per_minute is not None:
        return args.words_per_minute
    return CRISIS_WORDS_PER_MINUTE if exercise.kind == "crisis" else settings.words_per_minute


def _noise(args: argparse.Namespace, settings) -> str | None:
    """--noise (where `none` turns off a bed the settings ask for), else the settings' noise bed."""
    if args.noise is None:
        return settings.noise
    return None if args.noise == "none" else args.noise


def _volume_for(args: argparse.Namespace, settings, bedside: bool = False) -> float:
    """--volume, else the settings' volume (halved in bedside mode)."""
    if args.volume is not None:
        return args.volume
    return settings.volume * (0.5 if bedside else 1.0)


def _voice(name: str | None, words_per_minute: float):
    from assistant.speech.voice import CachedVoice, Pyttsx3Voice, VoiceSettings

    return CachedVoice(Pyttsx3Voice(VoiceSettings(voice=name, words_per_minute=round(words_per_minute))))


def _write_json_atomically(path: Path, data: dict) -> None:
    import os
    import tempfile

    from assistant.errors import AudioFileError

    tmp = None
    try:
        fd, tmp = tempfile.mkstemp(prefix=".grounding-", suffix=".json", dir=path.parent if str(path.parent) else ".")
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            json.dump(data, handle)
        os.replace(tmp, path)
    except OSError as exc:
        if tmp is not None:  # a full disk: no half-written temporary file left behind either
            try:
                os.remove(tmp)
            except OSError:
                pass
        raise AudioFileError(f"cannot write the timeline to {path}: {exc.strerror or exc}") from None


def _sample_rate(text: str) -> int:
    try:
        rate = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"'{text}' is not a whole number of hertz") from None
    if rate not in SAMPLE_RATES:
        raise argparse.ArgumentTypeError(f"{rate} Hz is not supported; choose one of {', '.join(map(str, SAMPLE_RATES))}")
    return rate


def _bounded(unit: str, low: float, high: float, advice: str, low_inclusive: bool = True):
    """An argparse type: a number of `unit` within [low, high] (or (low, high]), else a message with advice."""

    def parse(text: str) -> float:
        try:
            value = float(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"'{text}' is not a number of {unit}") from None
        too_low = value < low if low_inclusive else value <= low
        if too_low or value > high or value != value:
            raise argparse.ArgumentTypeError(advice)
        return value

    return parse


# espeak-ng cannot go slower than about 92 words a minute (its rate 80).
_words_per_minute = _bounded("words per minute", 92, 220, "choose a speech rate between 92 and 220 words per minute (guidance sits at 100-130)")
_volume = _bounded("volume (0-1)", 0.0, 1.0, "choose a volume above 0 and at most 1 (1 is the designed level)", low_inclusive=False)
_minutes = _bounded("minutes", 0.0, 480.0, "choose a sleep timer between 0 and 480 minutes", low_inclusive=False)


# Options that default to the person's settings file (`grounding check` validates it).
VOICE_HELP = "text-to-speech voice name or id (default: config.yaml's voice, else the engine's)"
WPM_HELP = "speech rate (default: config.yaml's words_per_minute, else 115; the crisis script is read at 100)"
NOISE_HELP = "a soft noise bed under the tone; none turns off one config.yaml asks for (default: config.yaml's, else none)"


def _add_engine_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--engine", choices=["vosk", "pocketsphinx"], default=None, help="recognizer (default: vosk if a model is found, else pocketsphinx)")
    parser.add_argument("--model", default=None, metavar="DIR", help="a Vosk model folder")
    parser.add_argument("--language", default="en", help="language of the cue files to listen for (en, ko, ...)")


class _HelpFormatter(argparse.ArgumentDefaultsHelpFormatter):
    """Shows defaults in --help, except None ("from config.yaml" or "the engine's" is said in the help itself)."""

    def _get_help_string(self, action: argparse.Action) -> str:
        if action.default is None:
            return action.help or ""
        return super()._get_help_string(action)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="grounding",
        description="An offline grounding assistant: paced breathing and grounding with a calm voice over a breath tone.",
        formatter_class=_HelpFormatter,
    )
    parser.add_argument("--version", action="version", version=f"grounding {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    sub.required = True

    p = sub.add_parser("list", help="list the exercises", formatter_class=_HelpFormatter)
    p.add_argument("--json", action="store_true", help="print a JSON array of {id, title, kind, seconds}")
    p.set_defaults(func=cmd_list)

    p = sub.add_parser("check", help="check exercise and cue files for problems")
    p.add_argument("paths", nargs="*", metavar="PATH", help="files or folders to check (default: everything that would load)")
    p.set_defaults(func=cmd_check)

    p = sub.add_parser("new", help="start an exercise of your own from a template or a copy")
    p.add_argument("id", help="the new exercise's id: lower-case letters, digits and dashes")
    p.add_argument("--from", dest="copy_from", metavar="EXISTING", help="copy this exercise (see `grounding list`) instead of the template")
    p.set_defaults(func=cmd_new)

    p = sub.add_parser("render", help="render an exercise to a WAV file", formatter_class=_HelpFormatter)
    p.add_argument("id", help="the exercise id (see `grounding list`)")
    p.add_argument("-o", "--output", required=True, metavar="OUT.wav", help="the WAV file to write")
    p.add_argument("--timeline", metavar="T.json", help="also write the timeline of events as JSON")
    p.add_argument("--sample-rate", type=_sample_rate, default=44100, help="sample rate in hertz")
    p.add_argument("--no-speech", action="store_true", help="tones and chimes only, no spoken guidance")
    p.add_argument("--voice", default=None, help=VOICE_HELP)
    p.add_argument("--words-per-minute", type=_words_per_minute, default=None, help=WPM_HELP)
    p.add_argument("--noise", choices=["pink", "brown", "none"], default=None, help=NOISE_HELP)
    p.set_defaults(func=cmd_render)

    p = sub.add_parser("run", help="play an exercise live, with a pacer and keyboard controls", formatter_class=_HelpFormatter)
    p.add_argument("id", help="the exercise id (see `grounding list`)")
    p.add_argument("--sample-rate", type=_sample_rate, default=44100, help="sample rate in hertz")
    p.add_argument("--no-speech", action="store_true", help="tones, chimes and captions only")
    p.add_argument("--output-device", default=None, help="output device name (part of it) or index; see `grounding devices`")
    p.add_argument("--volume", type=_volume, default=None, help="0-1; default the settings' volume (1), halved in bedside mode")
    p.add_argument("--no-pacer", action="store_true", help="print captions as lines instead of drawing the pacer")
    p.add_argument("--bedside", action="store_true", help="quieter, 30 s fade-in, fade-out over the last minute, soft chimes")
    p.add_argument("--sleep-timer", type=_minutes, default=None, metavar="MINUTES", help="fade out and stop after this many minutes")
    p.add_argument("--log", action="store_true", help="add date, exercise, duration and completion to a local session log (never audio or words)")
    p.add_argument("--voice", default=None, help=VOICE_HELP)
    p.add_argument("--words-per-minute", type=_words_per_minute, default=None, help=WPM_HELP)
    p.add_argument("--noise", choices=["pink", "brown", "none"], default=None, help=NOISE_HELP)
    p.set_defaults(func=cmd_run)

    p = sub.add_parser("crisis", help="show and speak crisis resources now")
    p.add_argument("--no-sound", action="store_true", help="only print them")
    p.add_argument("--output-device", default=None, help="output device name (part of it) or index")
    p.set_defaults(func=cmd_crisis)

    p = sub.add_parser("detect", help="show what the assistant would hear in a WAV file or a transcript")
    p.add_argument("audio", nargs="?", metavar="AUDIO.wav", help="a WAV file, streamed through the live detection path")
    p.add_argument("--text", help="a transcript to match instead of audio")
    p.add_argument("--json", action="store_true", help='one JSON object per detection: {"time_s", "kind", "intent", "text"}')
    _add_engine_arguments(p)
    p.set_defaults(func=cmd_detect)

    p = sub.add_parser("listen", help="the main job: listen for cues and guide what is asked for", formatter_class=_HelpFormatter)
    _add_engine_arguments(p)
    p.add_argument("--input-device", default=None, help="microphone name (part of it) or index")
    p.add_argument("--output-device", default=None, help="output device name (part of it) or index; see `grounding devices`")
    p.add_argument("--sample-rate", type=_sample_rate, default=44100, help="output sample rate in hertz")
    p.add_argument("--no-speech", action="store_true", help="tones, chimes and captions only")
    p.add_argument("--voice", default=None, help=VOICE_HELP)
    p.add_argument("--words-per-minute", type=_words_per_minute, default=None, help=WPM_HELP)
    p.add_argument("--volume", type=_volume, default=None, help="0-1; default the settings' volume (1)")
    p.add_argument("--noise", choices=["pink", "brown", "none"], default=None, help=NOISE_HELP)
    p.set_defaults(func=cmd_listen)

    p = sub.add_parser("model", help="speech models: `grounding model download [NAME]` fetches a Vosk model")
    model_sub = p.add_subparsers(dest="model_command", metavar="ACTION")
    model_sub.required = True
    from assistant.speech.models import add_download_arguments

    download = model_sub.add_parser("download", help="download and unpack a Vosk model (needs the internet)")
    add_download_arguments(download)
    download.set_defaults(func=cmd_model)

    p = sub.add_parser("devices", help="list audio output devices")
    p.set_defaults(func=cmd_devices)
    return parser


def main(argv: list[str] | None = None) -> int:
    # A file name or --text holding bytes that are not UTF-8 arrives with lone surrogates; printed
    # strictly (the usual en_US.UTF-8 setting) they were a UnicodeEncodeError. Escape them instead.
    if hasattr(sys.stdout, "reconfigure"):
        sys.stdout.reconfigure(errors="backslashreplace")
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return args.func(args)
    except GroundingError as exc:
        _warn(str(exc))
        return 1
    except KeyboardInterrupt:
        return 130

"""Every shell example in README.md and docs/*.rst runs, and prints what the docs show.

Examples are found in ``.. code-block:: console`` (or ``sh``/``shell``/``bash``) blocks of
the .rst files and in ```` ```sh ```` / ```` ```console ```` blocks of README.md. In a
block, ``$ `` starts a command (a trailing ``\\`` continues it) and the lines up to the
next ``$ `` are its output; a block without ``$ `` is one command per line and shows no
output.

The commands of one document run one after another with bash (a document reads as one
shell session: a file made in one block is used in the next) in a fresh folder that holds
the input files the docs assume (:data:`INPUT_FILES`), with our console scripts on PATH.
Shown output is compared line by line with what the command printed, standard output
first, then standard error (so the docs show messages on stderr last); ``...`` in a shown
line matches any text. A command with no shown output must exit 0. A trailing
``&`` starts a background server that is stopped when the document ends. Loopback ports in
the docs are replaced by free ones (several test runs share the machine).

What cannot run here is listed with its reason: :data:`CANNOT_RUN_HERE` (no serial device,
no GPIO chip, no remote server: the command still runs, to prove that its options parse,
and must fail with one line and no traceback), :data:`OUTPUT_NOT_COMPARED` and
:data:`SKIPPED_COMMANDS`.
"""

from __future__ import annotations

import contextlib
import doctest
import os
import re
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from .exporters.delivery_support import Mosquitto, mosquitto_binary

ROOT = Path(__file__).resolve().parent.parent
CORPUS = ROOT.parent / "shared" / "corpus"
DOCUMENTS = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.rst"))]
SHELLS = ("console", "sh", "shell", "bash", "shell-session")


@dataclass
class Command:
    text: str
    line: int = 0  # where its block starts
    output: list[str] = field(default_factory=list)
    shows_output: bool = False


@dataclass
class Example:
    """The shell examples of one document, in order: they read as one session."""

    path: Path
    commands: list[Command]

    @property
    def name(self) -> str:
        return str(self.path.relative_to(ROOT))


def parse_block(lines: list[str]) -> list[Command]:
    """Commands (with their shown output) of one dedented block."""
    commands: list[Command] = []
    if not any(line.startswith("$ ") for line in lines):
        for line in lines:
            if line.strip() and not line.lstrip().startswith("#"):
                commands.append(Command(line.strip()))
        return commands
    continued = False
    for line in lines:
        if continued:
            commands[-1].text += "\n" + line
            continued = line.rstrip().endswith("\\")
        elif line.startswith("$ "):
            commands.append(Command(line[2:]))
            continued = line.rstrip().endswith("\\")
        elif commands and (line.strip() or commands[-1].output):
            commands[-1].output.append(line.rstrip())
            commands[-1].shows_output = True
    for command in commands:
        while command.output and not command.output[-1]:
            command.output.pop()
    return commands


def rst_blocks(text: str) -> Iterator[tuple[int, list[str]]]:
    lines = text.splitlines()
    for number, line in enumerate(lines):
        match = re.match(r"(\s*)\.\. code-block:: *(\S+)\s*$", line)
        if not match or match.group(2) not in SHELLS:
            continue
        indent = len(match.group(1))
        body: list[str] = []
        for following in lines[number + 1:]:
            if following.strip() and len(following) - len(following.lstrip()) <= indent:
                break
            body.append(following)
        width = min((len(b) - len(b.lstrip()) for b in body if b.strip()), default=0)
        yield number + 1, [b[width:] for b in body]


def markdown_blocks(text: str) -> Iterator[tuple[int, list[str]]]:
    lines = text.splitlines()
    number = 0
    while number < len(lines):
        match = re.match(r"```(\S*)\s*$", lines[number])
        if match:
            end = next(i for i in range(number + 1, len(lines)) if lines[i].startswith("```"))
            if match.group(1) in SHELLS:
                yield number + 1, lines[number + 1:end]
            number = end
        number += 1


def examples() -> list[Example]:
    found: list[Example] = []
    for path in DOCUMENTS:
        text = path.read_text(encoding="utf-8")
        blocks = rst_blocks(text) if path.suffix == ".rst" else markdown_blocks(text)
        commands: list[Command] = []
        for line, block in blocks:
            for command in parse_block(block):
                command.line = line
                commands.append(command)
        if commands:
            found.append(Example(path, commands))
    return found


# -- what the examples need -----------------------------------------------------------------


def _frames_hex() -> str:
    """frames.hex of the docs: the libmbus test frames, one hex telegram per line."""
    folder = CORPUS / "libmbus" / "test-frames"
    if not folder.is_dir():
        pytest.skip(f"frames.hex is made from {folder}, which is absent (../shared/corpus)")
    return "".join(" ".join(path.read_text(encoding="utf-8").split()) + "\n"
                   for path in sorted(folder.glob("*.hex")))


INPUT_FILES: dict[str, Callable[[], str]] = {"frames.hex": _frames_hex}

# Commands that cannot do their real job here (regular expression -> reason). They still
# run, to prove that their options parse, and must fail with one line, no traceback.
# Remote hosts are replaced by a closed loopback port first (no traffic beyond loopback).
CANNOT_RUN_HERE: dict[str, str] = {
    r"/dev/tty": "needs a serial M-Bus level converter",
    r"/dev/gpiochip": "needs a GPIO chip with an S0 input (Linux)",
    r"example\.org": "needs the remote server of the example",
}
# Commands that run and must succeed, but whose shown output is not compared.
OUTPUT_NOT_COMPARED: dict[str, str] = {
    r"^exporters spool list": "shows the spools of the remote deliveries before it",
}
# Commands not run at all.
SKIPPED_COMMANDS: dict[str, str] = {
    r"^make test\b": "runs this test suite itself",
}


def reason_in(table: dict[str, str], command: str) -> str | None:
    for pattern, reason in table.items():
        if re.search(pattern, command, re.MULTILINE):
            return reason
    return None


def free_port() -> int:
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        port: int = listener.getsockname()[1]
        return port


def wait_for_port(port: int, process: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise AssertionError(f"background command ended: {log.read_text()}")
        with socket.socket() as probe:
            if probe.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.05)
    raise AssertionError(f"nothing listens on 127.0.0.1:{port}")


def matches(shown: list[str], output: list[str]) -> bool:
    if len(shown) != len(output):
        return False
    for expected, line in zip(shown, output, strict=True):
        pattern = ".*".join(re.escape(part) for part in expected.strip().split("..."))
        if not re.fullmatch(pattern, line.strip()):
            return False
    return True


class Runner:
    """Runs the commands of one document in its own folder."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.background: list[subprocess.Popen[bytes]] = []
        self.brokers: list[Mosquitto] = []
        self.ports: dict[str, str] = {}
        self.closed_port = free_port()  # nothing listens there
        bin_dir = str(Path(sys.executable).parent)
        # HOME is the example's folder: spools and caches of the commands stay in it.
        self.env = {**os.environ, "PATH": bin_dir + os.pathsep + os.environ.get("PATH", ""),
                    "HOME": str(folder)}
        for name in ("CI", "PYTHONPATH"):
            self.env.pop(name, None)

    def localize(self, text: str) -> str:
        """Loopback ports of the docs -> free ones (the same within an example); remote
        hosts of the examples -> a closed loopback port."""
        def swap(match: re.Match[str]) -> str:
            port = match.group(1)
            if port not in self.ports:
                self.ports[port] = str(free_port())
            return f"127.0.0.1:{self.ports[port]}"

        text = re.sub(r"127\.0\.0\.1:(\d{2,5})", swap, text)
        closed = f"127.0.0.1:{self.closed_port}"
        text = re.sub(r"(?<=//)([\w.-]+@)?[\w.-]*example\.org(:\d+)?", rf"\g<1>{closed}", text)
        return re.sub(r"(--smtp )[\w.-]*example\.org(:\d+)?", rf"\g<1>{closed}", text)

    def start_broker(self, command: str) -> None:
        """An MQTT example gets a real mosquitto; the port of the docs maps to its port."""
        match = re.search(r"--broker 127\.0\.0\.1:(\d+)", command)
        if not match or match.group(1) in self.ports:
            return
        if mosquitto_binary() is None:
            pytest.skip("mosquitto is not installed (Debian package 'mosquitto')")
        broker = Mosquitto(self.folder / f"mosquitto-{len(self.brokers)}")
        broker.start()
        self.brokers.append(broker)
        self.ports[match.group(1)] = str(broker.port)

    def run(self, command: Command, *, cwd: Path | None = None) -> tuple[int, list[str]]:
        self.start_broker(command.text)
        text = self.localize(command.text)
        if text.rstrip().endswith("&"):
            log = self.folder / f"background-{len(self.background)}.log"
            with log.open("wb") as sink:
                process = subprocess.Popen(["bash", "-c", text.rstrip()[:-1]], cwd=self.folder,
                                           env=self.env, stdout=sink, stderr=subprocess.STDOUT,
                                           start_new_session=True)
            self.background.append(process)
            port = re.search(r"127\.0\.0\.1:(\d+)", text)
            if port:
                wait_for_port(int(port.group(1)), process, log)
            return 0, []
        result = subprocess.run(["bash", "-c", text], cwd=cwd or self.folder,
                                env=self.env, capture_output=True, timeout=300, check=False)
        return result.returncode, (result.stdout + result.stderr).decode(
            "utf-8", "replace").splitlines()

    def close(self) -> None:
        for process in self.background:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGTERM)
            process.wait(10)
        for broker in self.brokers:
            broker.stop()


EXAMPLES = examples()


def test_the_extractor_finds_the_examples() -> None:
    """The documents do hold shell examples, and every block gave at least one command."""
    names = {example.path.name for example in EXAMPLES}
    assert {"README.md", "mbus.rst", "mbus_master.rst", "exporters.rst", "s0.rst"} <= names
    assert all(command.text.strip() for example in EXAMPLES for command in example.commands)


@pytest.mark.parametrize("example", EXAMPLES, ids=lambda example: example.name)
def test_example(example: Example, tmp_path: Path) -> None:
    for name, make in INPUT_FILES.items():
        if any(name in command.text for command in example.commands):
            (tmp_path / name).write_text(make(), encoding="utf-8")
    runner = Runner(tmp_path)
    try:
        for command in example.commands:
            if reason_in(SKIPPED_COMMANDS, command.text):
                continue
            # make targets run in the checkout (they need the Makefile and its .venv)
            cwd = ROOT if command.text.startswith("make ") else None
            status, output = runner.run(command, cwd=cwd)
            where = f"{example.name}:{command.line}: $ {command.text}"
            cannot = reason_in(CANNOT_RUN_HERE, command.text)
            if cannot is not None:
                assert status != 0 and len(output) == 1 and "Traceback" not in output[0], (
                    f"{where} ({cannot}) should fail with one line here, gave {status}: "
                    + "\n".join(output))
            elif command.shows_output and not reason_in(OUTPUT_NOT_COMPARED, command.text):
                shown = [runner.localize(line) for line in command.output]
                assert matches(shown, output), (
                    f"{where}\n--- the docs show:\n" + "\n".join(shown)
                    + f"\n--- it printed (exit {status}):\n" + "\n".join(output))
            else:
                assert status == 0, f"{where} exited {status}:\n" + "\n".join(output)
    finally:
        runner.close()


def test_readme_python_session() -> None:
    """The README's ```python session runs as a doctest."""
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    sessions = re.findall(r"```python\n(.*?)```", text, re.DOTALL)
    assert sessions
    parser = doctest.DocTestParser()
    runner = doctest.DocTestRunner(optionflags=doctest.ELLIPSIS)
    for number, session in enumerate(sessions):
        test = parser.get_doctest(session, {}, f"README.md python block {number}", None, 0)
        runner.run(test)
    assert runner.failures == 0 and runner.tries > 0

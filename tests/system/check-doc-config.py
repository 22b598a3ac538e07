#!/usr/bin/python3
"""check-doc-config.py KEXECD SAMPLE_ROOT_TOOL DOC...: every configuration
snippet the README and the man pages show is read by the real parser
(kexecd --simulate --verify-staged, which loads the configuration like the
daemon does) without an error or a warning. Users copy these; one that
breaks the daemon when copied is a bug (issue 10).

Snippets: Markdown ```ini blocks, printf '...' > .../kexecd.conf* commands,
and man page .nf/.fi blocks holding a [Section] line."""
import re
import subprocess
import sys
import tempfile
from pathlib import Path

SECTION = re.compile(r"^\[[A-Za-z]+\]$", re.M)


def markdown_snippets(text):
    for m in re.finditer(r"^```ini\n(.*?)^```", text, re.M | re.S):
        yield m.group(1)
    # printf '[Stage]\nAutoStage=no\n' > /etc/kexecd.conf.d/x.conf
    for m in re.finditer(r"printf '([^']*)' *>+ *\S*kexecd\.conf", text):
        yield m.group(1).encode().decode("unicode_escape")


def man_snippets(text):
    for m in re.finditer(r"^\.nf\n(.*?)^\.fi", text, re.M | re.S):
        body = m.group(1).replace("\\-", "-").replace("\\e", "\\").replace("\\(aq", "'")
        if SECTION.search(body):
            yield body


def main():
    kexecd, sample, docs = sys.argv[1], sys.argv[2], sys.argv[3:]
    failed = 0
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp) / "root"
        subprocess.run([sample, str(root)], check=True)
        for doc in docs:
            text = Path(doc).read_text()
            snippets = list(man_snippets(text) if re.search(r"\.\d$", doc) else markdown_snippets(text))
            if not snippets:
                print(f"FAIL: no configuration snippet found in {doc}: the extraction broke")
                failed += 1
            for n, body in enumerate(snippets, 1):
                where = f"{Path(doc).name} snippet {n}"
                # A '#' or ';' after a value is part of it: a comment there
                # would reach the kernel command line or fail a boolean.
                for line in body.splitlines():
                    if "=" in line and not line.lstrip().startswith(("#", ";")) \
                            and re.search(r"\s[#;]", line):
                        print(f"FAIL: {where}: inline comment is part of the value: {line!r}")
                        failed += 1
                conf = Path(tmp) / "snippet.conf"
                conf.write_text(body)
                r = subprocess.run([kexecd, "--simulate", "--verify-staged", "--root", str(root),
                                    "--config", str(conf)], capture_output=True, text=True)
                log = r.stdout + r.stderr
                if r.returncode != 0 or re.search(r"warn|error|critical|unknown", log, re.I):
                    print(f"FAIL: {where} (exit {r.returncode}):\n{body}\n{log}")
                    failed += 1
                else:
                    print(f"ok: {where}: {len(body.splitlines())} lines")
    sys.exit(1 if failed else 0)


main()

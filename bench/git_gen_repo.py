#!/usr/bin/env python3
"""Writes a git fast-import stream for a large, real-world-shaped history to stdout.

Usage: git_gen_repo.py COMMITS FILES MB_TARGET [SEED] | git fast-import --quiet

Shape: COMMITS commits on main, each editing one of FILES source-like text files (a few lines
replaced or appended: deltas against the previous version), every 500th commit also adds a
binary asset (incompressible) so that the packed repository reaches about MB_TARGET megabytes.
Deterministic for a given seed.
"""
import random
import sys


def main() -> None:
    commits = int(sys.argv[1])
    files = int(sys.argv[2])
    target_mb = int(sys.argv[3])
    rng = random.Random(int(sys.argv[4]) if len(sys.argv) > 4 else 42)
    out = sys.stdout.buffer
    words = [("".join(rng.choice("abcdefghijklmnopqrstuvwxyz_") for _ in range(rng.randint(3, 12))))
             for _ in range(5000)]
    contents = {}
    assets = max(1, commits // 500)
    # Text compresses (and deltas) well: the binary assets provide most of the packed size.
    asset_size = max(1, (target_mb * 1_000_000 * 9 // 10) // assets)
    asset_no = 0
    for c in range(1, commits + 1):
        f = rng.randrange(files)
        path = f"src/mod{f % 40}/file{f}.c"
        lines = contents.get(path)
        if lines is None:
            lines = [" ".join(rng.choice(words) for _ in range(rng.randint(4, 14))) for _ in range(rng.randint(40, 200))]
        else:
            for _ in range(rng.randint(1, 4)):
                i = rng.randrange(len(lines) + 1)
                line = " ".join(rng.choice(words) for _ in range(rng.randint(4, 14)))
                if i < len(lines) and rng.random() < 0.6:
                    lines[i] = line
                else:
                    lines.insert(i, line)
        contents[path] = lines
        data = ("\n".join(lines) + "\n").encode()
        msg = f"Change {c}: update {path}\n".encode()
        out.write(b"commit refs/heads/main\n")
        out.write(f"mark :{c}\n".encode())
        out.write(f"author Dev{c % 37} <dev{c % 37}@example.com> {1500000000 + c * 60} +0000\n".encode())
        out.write(f"committer Dev{c % 37} <dev{c % 37}@example.com> {1500000000 + c * 60} +0000\n".encode())
        out.write(f"data {len(msg)}\n".encode() + msg)
        if c > 1:
            out.write(f"from :{c - 1}\n".encode())
        out.write(f"M 100644 inline {path}\n".encode())
        out.write(f"data {len(data)}\n".encode() + data + b"\n")
        if c % 500 == 0 and asset_no < assets:
            blob = rng.randbytes(asset_size)
            out.write(f"M 100644 inline assets/blob{asset_no}.bin\n".encode())
            out.write(f"data {len(blob)}\n".encode() + blob + b"\n")
            asset_no += 1
    out.flush()


if __name__ == "__main__":
    main()

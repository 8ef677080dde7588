"""Real face photos for the face tests: obama*.jpg (one person) and biden.jpg (another) from the face_recognition
source distribution on PyPI, fetched once by pip into a cache outside git (``make face-images`` does the same)."""
from __future__ import annotations

import os
import subprocess
import sys
import tarfile
from pathlib import Path

SDIST = "face_recognition==1.3.0"
PHOTOS = ("obama.jpg", "obama2.jpg", "obama3.jpg", "biden.jpg")


def photo_dir() -> Path:
    folder = Path(os.environ.get("MOTCUA_FACE_CACHE") or Path.home() / ".cache" / "motcua" / "face")
    if all((folder / p).is_file() for p in PHOTOS):
        return folder
    folder.mkdir(parents=True, exist_ok=True)
    subprocess.run([sys.executable, "-m", "pip", "download", "-q", SDIST, "--no-deps", "--no-binary", ":all:",
                    "-d", str(folder)], check=True)
    sdist = next(folder.glob("face_recognition-*.tar.gz"))
    with tarfile.open(sdist) as tar:
        for member in tar.getmembers():
            if "/tests/test_images/" in member.name and member.name.endswith(".jpg"):
                member.name = Path(member.name).name
                tar.extract(member, folder, filter="data")
    return folder


def read(name: str):  # -> np.ndarray (BGR)
    import cv2

    img = cv2.imread(str(photo_dir() / name), cv2.IMREAD_COLOR)
    assert img is not None, name
    return img

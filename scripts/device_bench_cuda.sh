#!/usr/bin/env bash
# Generation on a GPU machine lent by the `device` tool (issue 4): the transformers conformance cases
# with device="cuda", then benches/bench_generation.py --device cuda against the numpy loop and
# optimum on the same file.
#
# That machine has no network, its own python3 (torch, no onnxruntime-gpu) and takes at most 64 MiB
# per call, so everything it lacks travels as one bundle split into parts, one part per call:
#
#   here:   scripts/device_bench_cuda.sh bundle ORT_GPU_WHEEL RELEASE_WHEEL BENCH_MODEL_DIR [PARTS]
#           -> .dev/p1 .. .dev/pN (ignored via .git/info/exclude); call the device with carry=[".dev/pK"],
#              one part per call while the machine stays warm, then:
#   there:  bash scripts/device_bench_cuda.sh run
#
# The bundle holds onnxruntime-gpu (xz, TensorRT provider dropped), the release build of our
# extension, optimum + the transformers/tokenizers/huggingface_hub versions it needs, and the bench
# model as a weightless skeleton (benches/model_skeleton.py) refilled with seeded weights there.
set -uo pipefail
cd "$(dirname "$0")/.."

bundle() {
    local ort_wheel=$1 our_wheel=$2 model=$3 parts=${4:-5} py=${PYTHON:-.venv/bin/python}
    local work; work=$(mktemp -d)
    mkdir -p "$work/b/wheels" "$work/ort"
    (cd "$work/ort" && unzip -q "$ort_wheel" && rm -f onnxruntime/capi/libonnxruntime_providers_tensorrt.so \
        && tar -c . | xz -T0 -8 > "$work/b/ortgpu.tar.xz") || return 1
    unzip -q -o "$our_wheel" 'onnxformers/_core.abi3.so' -d "$work" && xz -9 -c "$work/onnxformers/_core.abi3.so" > "$work/b/_core.abi3.so.xz"
    "$py" -m pip download -q --no-deps --only-binary=:all: --python-version 3.12 --implementation cp \
        --platform manylinux_2_28_x86_64 --platform manylinux_2_17_x86_64 --platform manylinux2014_x86_64 \
        -d "$work/b/wheels" transformers==4.57.6 tokenizers==0.22.2 huggingface_hub==0.36.2 optimum==2.1.0 optimum-onnx==0.1.0 || return 1
    "$py" benches/model_skeleton.py strip "$model" "$work/skel" && tar -C "$work" -c skel | xz -9 > "$work/b/skel.tar.xz"
    rm -rf .dev/p[0-9]*
    local size; size=$(du -cb "$work/b" | tail -1 | cut -f1)
    tar -C "$work/b" -c . | split -b $(( (size + 1048576) / parts + 1 )) -d - "$work/bundle.part"
    local k=1
    for f in "$work"/bundle.part*; do mkdir -p ".dev/p$k" && mv "$f" ".dev/p$k/"; k=$((k + 1)); done
    grep -qx '/.dev/' .git/info/exclude || echo '/.dev/' >> .git/info/exclude
    du -sh .dev/p*; rm -rf "$work"
}

run() {
    local out=${OUT:-/tmp/device-out} b=/tmp/bundle site=/tmp/site
    mkdir -p "$out" "$b" "$site"
    exec > >(tee -a "$out/device_log.txt") 2>&1
    cat .dev/p*/bundle.part* | tar -x -C "$b" || { echo "bundle incomplete"; ls -la .dev/p*; return 1; }
    xz -dc "$b/ortgpu.tar.xz" | tar -x -C "$site" || return 1
    python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --target "$site" "$b"/wheels/*.whl || return 1
    xz -dc "$b/_core.abi3.so.xz" > python/onnxformers/_core.abi3.so && xz -dc "$b/skel.tar.xz" | tar -x -C "$b"
    export PYTHONPATH=$PWD/python:$site PYTHONUNBUFFERED=1
    nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader
    python3 -c "import onnxruntime as o, torch, transformers, optimum; print('onnxruntime', o.__version__, o.get_available_providers(), 'torch', torch.__version__, 'transformers', transformers.__version__)"
    echo "== pipelines on cuda vs cpu"
    timeout 120 python3 scripts/device_check_cuda.py
    echo "== generation conformance with device=cuda (transformers' generate() references)"
    ONNXFORMERS_TEST_DEVICE=cuda timeout 180 python3 -m pytest -q -p no:cacheprovider --tb=short \
        tests/generation/test_decoder_only_generate.py tests/generation/test_encoder_decoder_generate.py \
        tests/generation/test_device_rows.py -k "matches_transformers or split_pair or not generate" 2>&1 | tail -40
    echo "== bench"
    python3 benches/model_skeleton.py fill "$b/skel" /tmp/bench-llama-lm || return 1
    timeout "${BENCH_TIMEOUT:-360}" python3 benches/bench_generation.py --model /tmp/bench-llama-lm --device cuda \
        --threads 1 --peers onnxformers fuse numpy optimum --repeat "${REPEAT:-5}" --no-rss \
        ${CASES:+--cases "$CASES"} --profile --out "$out/generation_cuda.txt"
}

"$@"

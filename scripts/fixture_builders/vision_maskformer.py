"""MaskFormer / Mask2Former fixtures: the torch post-processing of transformers on hand-made outputs
(semantic, instance, panoptic), the CPU order of ``torch.topk(sorted=False)`` that instance segmentation
depends on, ``F.interpolate(mode="nearest")`` indices; and a tiny MaskFormer (ResNet backbone) export with
transformers' image-segmentation pipeline references for every subtask.

Segmentation maps are stored as base64(zlib(int16 little-endian, row-major)) to keep the references small
(Mask2Former's maps are 384x384 without target sizes)."""

from __future__ import annotations

import base64
import zlib

import numpy as np

from make_fixtures import (
    IMAGE_FOLDER,
    REFERENCE_SIZE_LIMIT,
    Context,
    Fixture,
    _export_vision,
    _new_model,
    _ort_feed,
    _sharpen_head,
    _vision_pil,
    _vision_reference,
    f32,
    fixture,
    ints,
    max_abs,
    ort_session,
    write_json,
)

POST_PROCESSING_LIMIT = 100_000  # bytes: the hand-made reference


def pack_map(segmentation) -> dict:
    a = np.asarray(segmentation)
    assert np.all(a == np.round(a)) and a.min() >= -32768 and a.max() < 32768
    data = zlib.compress(a.astype("<i2").tobytes(), 9)
    return {"shape": list(a.shape), "int16_zlib_b64": base64.b64encode(data).decode("ascii")}


def _segments(out) -> dict:
    return {"map": pack_map(out["segmentation"]),
            "segments_info": [{"id": int(s["id"]), "label_id": int(s["label_id"]), "was_fused": bool(s.get("was_fused", False)),
                               "score": f32(s["score"])} for s in out["segments_info"]]}


def _blob_outputs(rng, batch: int, queries: int, labels: int, h: int, w: int, best: list[list[int]]):
    """class logits whose argmax per query is ``best[b][q]`` (``labels`` = no object) and blob-shaped mask
    logits at random places, so that instances compete and overlap."""
    logits = rng.normal(0, 1, (batch, queries, labels + 1)).astype(np.float32)
    for b in range(batch):
        for q, k in enumerate(best[b]):
            logits[b, q, k] += rng.uniform(1.5, 5.0)
    y, x = np.mgrid[0:h, 0:w].astype(np.float32)
    masks = np.empty((batch, queries, h, w), np.float32)
    for b in range(batch):
        for q in range(queries):
            cy, cx, r = rng.uniform(0, h), rng.uniform(0, w), rng.uniform(2.0, 6.0)
            masks[b, q] = 4.0 * (1.0 - np.sqrt((y - cy) ** 2 + (x - cx) ** 2) / r) + rng.normal(0, 0.4, (h, w))
    masks[0, -1] = -3.0  # an empty mask: never a segment
    return logits, masks


def _run(processor, subtask: str, out, kw: dict):
    fn = getattr(processor, f"post_process_{subtask}_segmentation")
    result = fn(out, **kw)
    if subtask == "semantic":
        return [{"map": pack_map(r.numpy())} for r in result]
    return [_segments(r) for r in result]


def _options(kw: dict) -> dict:
    return {k: (sorted(v) if isinstance(v, set) else [list(t) for t in v] if k == "target_sizes" else v) for k, v in kw.items()}


@fixture("maskformer-post-processing", kind="reference")
def build_maskformer_post_processing(ctx: Context, fx: Fixture):
    """MaskFormerImageProcessor / Mask2FormerImageProcessor.post_process_{semantic,instance,panoptic}_segmentation
    (torch) on seeded hand-made class/mask logits; torch.topk(sorted=False) CPU index orders; nearest
    interpolation indices."""
    import torch
    from transformers import Mask2FormerImageProcessor, MaskFormerImageProcessor
    from transformers.utils import ModelOutput

    from make_fixtures import SCHEMA_VERSION, versions

    rng = np.random.default_rng(1301)
    # (1) torch.topk(values, k, sorted=False).indices on the CPU: normal values, ties, NaN, both code paths
    topk = []
    for n, k, kind in ((24, 6, "normal"), (40, 8, "ties"), (63, 9, "ties"), (35, 7, "nan"), (600, 3, "ties"),
                       (640, 10, "normal"), (15, 15, "normal"), (200, 40, "normal")):
        if kind == "normal":
            v = rng.normal(size=n).astype(np.float32)
        elif kind == "ties":
            v = rng.integers(0, 6, n).astype(np.float32)
        else:
            v = rng.normal(size=n).astype(np.float32)
            v[rng.choice(n, 3, replace=False)] = np.nan
        idx = torch.from_numpy(v).topk(k, sorted=False).indices
        topk.append({"values": [None if np.isnan(x) else f32(x) for x in v], "k": k, "indices": ints(idx)})
    # (2) F.interpolate(mode="nearest") of arange maps: the source index of every output pixel
    src = torch.arange(5 * 7, dtype=torch.float32).reshape(1, 1, 5, 7)
    nearest = []
    for size in ((3, 4), (10, 14), (11, 9), (5, 7), (17, 23), (1, 1), (384, 2)):
        out = torch.nn.functional.interpolate(src, size=size, mode="nearest")[0, 0]
        nearest.append({"size": list(size), "source_index": ints(out.reshape(-1))})
    # (3) post-processing cases
    queries, labels, h, w = 6, 4, 10, 14
    best = [[0, 1, 1, 3, 2, 4], [2, 2, 0, 4, 1, 3]]  # 4 = no object; two queries of one class
    logits, masks = _blob_outputs(rng, 2, queries, labels, h, w, best)
    out = ModelOutput(class_queries_logits=torch.from_numpy(logits), masks_queries_logits=torch.from_numpy(masks))
    targets = [(17, 23), (9, 11)]
    calls = [
        ("semantic", {}),
        ("semantic", {"target_sizes": targets}),
        ("instance", {"threshold": 0.5}),
        ("instance", {"threshold": 0.3, "target_sizes": targets}),
        ("instance", {"threshold": 0.0, "target_sizes": [(4, 5), (40, 50)]}),
        ("instance", {"threshold": 0.9, "target_sizes": targets}),
        ("panoptic", {"threshold": 0.5, "target_sizes": targets}),
        ("panoptic", {"threshold": 0.3, "mask_threshold": 0.4, "overlap_mask_area_threshold": 0.5,
                      "label_ids_to_fuse": {1, 2}, "target_sizes": targets}),
        ("panoptic", {"threshold": 0.99}),
    ]
    processors = {"MaskFormerImageProcessor": MaskFormerImageProcessor(), "Mask2FormerImageProcessor": Mask2FormerImageProcessor()}
    cases = []
    for name, processor in processors.items():
        for subtask, kw in calls:
            cases.append({"processor": name, "subtask": subtask, "options": _options(kw), "results": _run(processor, subtask, out, kw)})
    # many classes (k * 64 <= n: torch's partial_sort path) with tied probabilities between queries
    many_logits = rng.normal(0, 0.5, (1, 3, 201)).astype(np.float32)
    many_logits[0, 1] = many_logits[0, 0]  # identical queries: tied scores
    many_logits[0, :, 7] += 4.0
    many_masks = rng.normal(0, 2, (1, 3, 8, 8)).astype(np.float32)
    many = ModelOutput(class_queries_logits=torch.from_numpy(many_logits), masks_queries_logits=torch.from_numpy(many_masks))
    many_case = {"class_queries_logits": [[f32(r) for r in q] for q in many_logits[0]],
                 "masks_queries_logits": [[f32(r) for r in m] for m in many_masks[0]],
                 "results": [{"processor": "MaskFormerImageProcessor", "subtask": "instance", "options": {"threshold": 0.0},
                              "results": _run(processors["MaskFormerImageProcessor"], "instance", many, {"threshold": 0.0})}]}
    ref = {"schema": SCHEMA_VERSION, "fixture": fx.name, "versions": versions(),
           "note": "transformers' torch post-processing on hand-made outputs; maps are base64(zlib(int16 LE row-major)); "
                   "topk[i].indices = torch.from_numpy(values).topk(k, sorted=False).indices (None = NaN); "
                   "nearest[i].source_index = F.interpolate(arange(35).reshape(1,1,5,7), size, mode='nearest')",
           "topk": topk, "nearest": nearest,
           "class_queries_logits": [[[f32(r) for r in q] for q in b] for b in logits],
           "masks_queries_logits": [[[f32(r) for r in m] for m in q] for q in masks],
           "cases": cases, "many_classes": many_case}
    write_json(ctx.path(fx.name), ref, limit=POST_PROCESSING_LIMIT)
    print(f"  {len(cases)} cases, {len(topk)} topk orders")


# ------------------------------------------------------------------------------------------- tiny model

MASKFORMER_LABELS = ["person", "car", "sky", "road", "tree"]
MASKFORMER_CASES = ("odd.png", "tall.png", "rgba.png", "gray.png")
MASKFORMER_OPTIONS = {"threshold": 0.4, "mask_threshold": 0.5, "overlap_mask_area_threshold": 0.8}


def _piped(piped) -> list:
    return [{"label": d["label"], "score": None if d["score"] is None else f32(d["score"]),
             "mask": ints(np.flatnonzero(np.asarray(d["mask"]).reshape(-1) == 255))} for d in piped]


def _ort_backed_vision(model, path):
    """A copy of ``model`` whose forward runs the ONNX file (pixel_values in, class/mask query logits out)."""
    import copy
    import types

    import torch
    from transformers.models.maskformer.modeling_maskformer import MaskFormerForInstanceSegmentationOutput

    sess = ort_session(path)
    clone = copy.deepcopy(model)

    def forward(self, pixel_values=None, **_unused):
        out = _ort_feed(sess, {"pixel_values": pixel_values.numpy()})
        return MaskFormerForInstanceSegmentationOutput(**{k: torch.from_numpy(v) for k, v in out.items()})

    clone.forward = types.MethodType(forward, clone)
    return clone


@fixture("tiny-maskformer", kind="model", deps=("images",))
def build_tiny_maskformer(ctx: Context, fx: Fixture):
    """MaskFormerForInstanceSegmentation (4-stage ResNet backbone, FPN/mask features 32, one DETR decoder
    layer, 8 queries, 5 labels + no object) + MaskFormerImageProcessor (shortest edge 64, longest 96,
    size_divisor 32); image-segmentation references (semantic, instance, panoptic) from transformers' pipeline."""
    import torch
    from transformers import MaskFormerConfig, MaskFormerForInstanceSegmentation, MaskFormerImageProcessor, ResNetConfig, pipeline

    id2label = dict(enumerate(MASKFORMER_LABELS))
    backbone = ResNetConfig(num_channels=3, embedding_size=8, hidden_sizes=[8, 16, 16, 32], depths=[1, 1, 1, 1],
                            layer_type="basic", out_features=["stage1", "stage2", "stage3", "stage4"])
    # the pixel decoder's GroupNorm(32) needs 32-channel features
    decoder = dict(model_type="detr", d_model=32, encoder_layers=0, decoder_layers=1, encoder_attention_heads=2,
                   decoder_attention_heads=2, encoder_ffn_dim=16, decoder_ffn_dim=32, num_queries=8)
    cfg = MaskFormerConfig(backbone_config=backbone, decoder_config=decoder, fpn_feature_size=32, mask_feature_size=32,
                           num_queries=8, num_labels=len(id2label), id2label=id2label, init_std=0.2,
                           label2id={v: k for k, v in id2label.items()}, architectures=["MaskFormerForInstanceSegmentation"])
    model = _new_model(MaskFormerForInstanceSegmentation, cfg, 1302)
    with torch.no_grad():  # distinct queries, confident classes and masks that cross 0, so thresholds matter
        model.model.transformer_module.queries_embedder.weight.normal_(0, 2.0)
    _sharpen_head(model.class_predictor, 4.0)
    processor = MaskFormerImageProcessor(size={"shortest_edge": 64, "longest_edge": 96}, size_divisor=32)
    sample = {"pixel_values": np.zeros((1, 3, 64, 96), np.float32)}
    outs = ["class_queries_logits", "masks_queries_logits"]
    dyn = {"pixel_values": {0: "batch_size", 2: "height", 3: "width"}, "class_queries_logits": {0: "batch_size"},
           "masks_queries_logits": {0: "batch_size", 2: "mask_height", 3: "mask_width"}}
    folder, qinfo = _export_vision(ctx, fx, model, processor, ["pixel_values"], sample, outs, dyn)
    segmenter = pipeline("image-segmentation", model=model, image_processor=processor, device="cpu")
    # transformers' pipeline post-processing the q8 graph's outputs (onnxruntime of the version the project installs)
    q8_segmenter = pipeline("image-segmentation", model=_ort_backed_vision(model, folder / "onnx" / "model_quantized.onnx"),
                            image_processor=processor, device="cpu")
    s32 = ort_session(folder / "onnx" / "model.onnx")
    cases, worst = [], 0.0
    for name in MASKFORMER_CASES:
        path = str(ctx.out / IMAGE_FOLDER / name)
        pil = _vision_pil(ctx, name)
        enc = processor(pil, return_tensors="np")
        with torch.no_grad():
            t = model(pixel_values=torch.from_numpy(enc["pixel_values"]))
        o32 = _ort_feed(s32, {"pixel_values": enc["pixel_values"]})
        worst = max(worst, max_abs(o32["class_queries_logits"], t.class_queries_logits.numpy()),
                    max_abs(o32["masks_queries_logits"], t.masks_queries_logits.numpy()))
        seg = {subtask: _piped(segmenter(path, subtask=subtask, **MASKFORMER_OPTIONS))
               for subtask in ("semantic", "instance", "panoptic")}
        seg["auto"] = _piped(segmenter(path, **MASKFORMER_OPTIONS))
        q8 = {subtask: _piped(q8_segmenter(path, subtask=subtask, **MASKFORMER_OPTIONS))
              for subtask in ("semantic", "instance", "panoptic")}
        cases.append({"id": name, "image": f"{IMAGE_FOLDER}/{name}", "image_size": [pil.height, pil.width],
                      "pixel_values_shape": list(enc["pixel_values"].shape), "torch": {"segmentation": seg},
                      "onnx_q8": {"segmentation": q8}})
    assert worst < 1e-4, worst
    ref = _vision_reference(fx, "image-segmentation", folder, qinfo,
                            "random weights (seeded), query embeddings ~ N(0, 2), class head x4", cases,
                            id2label={str(k): v for k, v in id2label.items()}, max_abs_diff=worst,
                            segmentation_options=MASKFORMER_OPTIONS,
                            notes=["torch.segmentation[subtask] = transformers pipeline('image-segmentation')(path, "
                                   "subtask=..., **segmentation_options) ('auto': no subtask): label, score and the flat "
                                   "indices of the mask's 255 pixels",
                                   "onnx_q8.segmentation[subtask] = the same pipeline with the model's forward replaced by "
                                   "onnxruntime on onnx/model_quantized.onnx"])
    write_json(folder / "reference.json", ref, limit=REFERENCE_SIZE_LIMIT)
    print(f"  fp32 vs torch {worst:.2g}; segments {[{k: len(v) for k, v in c['torch']['segmentation'].items()} for c in cases]}")

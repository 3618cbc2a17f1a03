"""Vision fixtures beyond the first batch (make_fixtures.py): DETR with a mask head (object detection,
panoptic and instance segmentation) and OWL-ViT (zero-shot object detection).

Both use random, seeded weights; the references are what ``transformers``' pipelines and image processors
return for the committed test images (tests/fixtures/images)."""

from __future__ import annotations

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
    _vocab_size,
    copy_tokenizer,
    f32,
    fixture,
    ints,
    max_abs,
    ort_session,
    write_json,
)

DETR_LABELS = ["person", "bicycle", "car", "dog", "sky", "road"]
# small images only: the segmentation maps are stored pixel by pixel
DETR_CASES = ("odd.png", "tall.png", "rgba.png", "gray.png")
SEG_OPTIONS = {"threshold": 0.55, "mask_threshold": 0.5, "overlap_mask_area_threshold": 0.8}


def _segments(out) -> dict:
    return {"segmentation": ints(np.asarray(out["segmentation"]).reshape(-1)),
            "shape": list(np.asarray(out["segmentation"]).shape),
            "segments_info": [{"id": int(s["id"]), "label_id": int(s["label_id"]), "score": f32(s["score"])}
                              for s in out["segments_info"]]}


def _piped_segments(piped) -> list:
    return [{"label": d["label"], "score": f32(d["score"]),
             "mask_pixels": int((np.asarray(d["mask"]) == 255).sum()),
             "mask": ints(np.flatnonzero(np.asarray(d["mask"]).reshape(-1) == 255))} for d in piped]


@fixture("tiny-detr-panoptic", kind="model", deps=("images",))
def build_tiny_detr_panoptic(ctx: Context, fx: Fixture):
    """DetrForSegmentation (timm-free 4-stage ResNet backbone, d_model 32, 10 queries, 6 labels + no-object) +
    DetrImageProcessor (shortest edge 48, longest 80); object-detection and image-segmentation (panoptic,
    instance), references from transformers' pipelines and DetrImageProcessor's torch post-processing."""
    import torch
    from transformers import DetrConfig, DetrForSegmentation, DetrImageProcessor, ResNetConfig, pipeline

    id2label = dict(enumerate(DETR_LABELS))
    backbone = ResNetConfig(num_channels=3, embedding_size=8, hidden_sizes=[8, 8, 16, 16], depths=[1, 1, 1, 1],
                            layer_type="basic", out_features=["stage1", "stage2", "stage3", "stage4"])
    # 8 attention heads: the mask head's GroupNorm(8) needs d_model + heads divisible by 8
    cfg = DetrConfig(use_timm_backbone=False, backbone_config=backbone, use_pretrained_backbone=False, d_model=32,
                     encoder_layers=1, decoder_layers=1, encoder_attention_heads=8, decoder_attention_heads=8,
                     encoder_ffn_dim=32, decoder_ffn_dim=32, num_queries=10, num_labels=len(id2label), id2label=id2label,
                     label2id={v: k for k, v in id2label.items()}, init_std=0.2, architectures=["DetrForSegmentation"])
    model = _new_model(DetrForSegmentation, cfg, 1201)
    with torch.no_grad():  # distinct queries and confident classes, so that thresholds select something
        model.detr.model.query_position_embeddings.weight.normal_(0, 2.0)
    _sharpen_head(model.detr.class_labels_classifier, 4.0)
    processor = DetrImageProcessor(size={"shortest_edge": 48, "longest_edge": 80})
    sample = {"pixel_values": np.zeros((1, 3, 48, 64), np.float32), "pixel_mask": np.ones((1, 48, 64), np.int64)}
    outs = ["logits", "pred_boxes", "pred_masks"]
    dyn = {"pixel_values": {0: "batch_size", 2: "height", 3: "width"}, "pixel_mask": {0: "batch_size", 1: "height", 2: "width"},
           "logits": {0: "batch_size"}, "pred_boxes": {0: "batch_size"},
           "pred_masks": {0: "batch_size", 2: "mask_height", 3: "mask_width"}}
    folder, qinfo = _export_vision(ctx, fx, model, processor, ["pixel_values", "pixel_mask"], sample, outs, dyn)
    detector = pipeline("object-detection", model=model, image_processor=processor, device="cpu")
    segmenter = pipeline("image-segmentation", model=model, image_processor=processor, device="cpu")
    s32 = ort_session(folder / "onnx" / "model.onnx")
    cases, worst, min_gap = [], 0.0, 1.0
    fuse = [4, 5]  # "sky", "road": stuff classes fused into one segment each
    for name in DETR_CASES:
        path = str(ctx.out / IMAGE_FOLDER / name)
        pil = _vision_pil(ctx, name)
        enc = processor(pil, return_tensors="np")
        feed = {"pixel_values": enc["pixel_values"], "pixel_mask": enc["pixel_mask"].astype(np.int64)}
        with torch.no_grad():
            t = model(**{k: torch.from_numpy(v) for k, v in feed.items()})
        o32 = _ort_feed(s32, feed)
        worst = max(worst, max_abs(o32["logits"], t.logits.numpy()), max_abs(o32["pred_boxes"], t.pred_boxes.numpy()),
                    max_abs(o32["pred_masks"], t.pred_masks.numpy()))
        probs = torch.softmax(t.logits[0], -1)[:, :-1].max(-1).values.numpy()
        detections = {}
        for threshold in (0.55, 0.75):
            min_gap = min(min_gap, float(np.min(np.abs(probs - threshold))))
            detections[str(threshold)] = [{"score": f32(d["score"]), "label": d["label"], "box": d["box"]}
                                          for d in detector(path, threshold=threshold)]
        size = [(pil.height, pil.width)]
        seg = {}
        for subtask in ("panoptic", "instance"):
            seg[subtask] = _piped_segments(segmenter(path, subtask=subtask, **SEG_OPTIONS))
        fused = processor.post_process_panoptic_segmentation(t, label_ids_to_fuse=set(fuse), target_sizes=size, **SEG_OPTIONS)[0]
        low = processor.post_process_panoptic_segmentation(t, threshold=0.3, mask_threshold=0.4, overlap_mask_area_threshold=0.5,
                                                           target_sizes=None)[0]
        cases.append({
            "id": name, "image": f"{IMAGE_FOLDER}/{name}", "image_size": [pil.height, pil.width],
            "pixel_values_shape": list(enc["pixel_values"].shape),
            "torch": {"detection": detections, "segmentation": seg,
                      "panoptic_fused": _segments(fused), "panoptic_low_no_target": _segments(low)},
            "onnx_fp32": {"logits": [f32(r) for r in o32["logits"][0]], "pred_boxes": [f32(r) for r in o32["pred_boxes"][0]]},
        })
    assert worst < 1e-4, worst
    assert min_gap > 1e-3, min_gap
    synthetic = _synthetic_panoptic(processor)
    ref = _vision_reference(fx, "image-segmentation", folder, qinfo, "random weights (seeded), query embeddings ~ N(0, 2), class head x4",
                            cases, id2label={str(k): v for k, v in id2label.items()}, max_abs_diff=worst,
                            min_score_gap_to_threshold=min_gap, segmentation_options=SEG_OPTIONS, label_ids_to_fuse=fuse,
                            synthetic=synthetic,
                            notes=["torch.detection[t] = transformers pipeline('object-detection')(path, threshold=t)",
                                   "torch.segmentation[subtask] = pipeline('image-segmentation')(path, subtask=..., **segmentation_options): "
                                   "label, score, and the flat indices of the mask's 255 pixels",
                                   "torch.panoptic_fused = DetrImageProcessor.post_process_panoptic_segmentation(torch outputs, "
                                   "label_ids_to_fuse, target_sizes=[image size], **segmentation_options)",
                                   "torch.panoptic_low_no_target = the same with threshold 0.3, mask_threshold 0.4, "
                                   "overlap_mask_area_threshold 0.5 and no target_sizes (mask resolution)",
                                   "synthetic: hand-made logits [1, 8, 7] and pred_masks [1, 8, 12, 16] (blobs) through "
                                   "DetrImageProcessor.post_process_{panoptic,instance}_segmentation with each call's options"])
    write_json(folder / "reference.json", ref, limit=REFERENCE_SIZE_LIMIT)
    print(f"  fp32 vs torch {worst:.2g}; min gap {min_gap:.3g}; "
          f"segments {[len(c['torch']['segmentation']['panoptic']) for c in cases]}, "
          f"detections {[len(c['torch']['detection']['0.55']) for c in cases]}")


def _synthetic_panoptic(processor) -> dict:
    """Model-free post-processing cases: 8 queries whose masks are blobs at different places (so that
    segments compete, overlap and get fused), through transformers' torch post-processing."""
    import torch
    from transformers.utils import ModelOutput

    rng = np.random.default_rng(1203)
    queries, labels, h, w = 8, 6, 12, 16
    logits = rng.normal(0, 1, (1, queries, labels + 1)).astype(np.float32)
    best = [0, 1, 4, 4, 5, 5, 2, 6]  # 6 = no object; two "sky" and two "road" queries to fuse
    for q, k in enumerate(best):
        logits[0, q, k] += rng.uniform(2.0, 5.0)
    y, x = np.mgrid[0:h, 0:w].astype(np.float32)
    masks = np.empty((1, queries, h, w), np.float32)
    for q in range(queries):
        cy, cx, r = rng.uniform(0, h), rng.uniform(0, w), rng.uniform(2.5, 6.0)
        masks[0, q] = 4.0 * (1.0 - np.sqrt((y - cy) ** 2 + (x - cx) ** 2) / r) + rng.normal(0, 0.3, (h, w))
    out = ModelOutput(logits=torch.from_numpy(logits), pred_masks=torch.from_numpy(masks))
    calls = [
        ("panoptic", dict(threshold=0.5, mask_threshold=0.5, overlap_mask_area_threshold=0.8, target_sizes=[(25, 33)])),
        ("panoptic", dict(threshold=0.5, mask_threshold=0.5, overlap_mask_area_threshold=0.8, label_ids_to_fuse={4, 5}, target_sizes=[(25, 33)])),
        ("panoptic", dict(threshold=0.3, mask_threshold=0.3, overlap_mask_area_threshold=0.5, label_ids_to_fuse={4})),
        ("panoptic", dict(threshold=0.9, mask_threshold=0.5, overlap_mask_area_threshold=0.8, target_sizes=[(7, 9)])),
        ("instance", dict(threshold=0.5, mask_threshold=0.5, overlap_mask_area_threshold=0.8, target_sizes=[(25, 33)])),
        ("instance", dict(threshold=0.99, mask_threshold=0.5, overlap_mask_area_threshold=0.8, target_sizes=[(5, 6)])),
    ]
    cases = []
    for subtask, kw in calls:
        fn = getattr(processor, f"post_process_{subtask}_segmentation")
        result = fn(out, **kw)[0]
        opts = {k: (sorted(v) if isinstance(v, set) else [list(t) for t in v] if k == "target_sizes" else v) for k, v in kw.items()}
        cases.append({"subtask": subtask, "options": opts, **_segments(result)})
    return {"logits": [[f32(r) for r in q] for q in logits], "pred_masks": [[[f32(r) for r in row] for row in q] for q in masks],
            "cases": cases}


OWL_LABELS = ["a cat", "a dog", "a red car", "snow"]


@fixture("tiny-owlvit", kind="model", deps=("images", "tiny-bert-wordpiece"))
def build_tiny_owlvit(ctx: Context, fx: Fixture):
    """OwlViTForObjectDetection (text: the WordPiece tokenizer; vision 32x32, patch 8 → 16 boxes) +
    OwlViTImageProcessor; zero-shot-object-detection, references from transformers' pipeline."""
    import torch
    from transformers import BertTokenizerFast, OwlViTConfig, OwlViTForObjectDetection, OwlViTImageProcessor, pipeline

    text = dict(vocab_size=_vocab_size(ctx, "tiny-bert-wordpiece"), hidden_size=16, intermediate_size=20, num_hidden_layers=2,
                num_attention_heads=2, max_position_embeddings=16, pad_token_id=0, bos_token_id=2, eos_token_id=3,
                initializer_range=0.2)
    vision = dict(image_size=32, patch_size=8, hidden_size=16, intermediate_size=20, num_hidden_layers=2, num_attention_heads=2,
                  initializer_range=0.2)
    cfg = OwlViTConfig(text_config=text, vision_config=vision, projection_dim=16, architectures=["OwlViTForObjectDetection"])
    model = _new_model(OwlViTForObjectDetection, cfg, 1202)
    with torch.no_grad():  # spread the class logits so that sigmoid scores cross the thresholds
        model.class_head.logit_scale.bias.add_(2.0)
        model.class_head.logit_scale.weight.mul_(3.0)
    processor = OwlViTImageProcessor(size={"height": 32, "width": 32}, crop_size={"height": 32, "width": 32})
    names = ["input_ids", "pixel_values", "attention_mask"]
    sample = {"input_ids": np.full((3, 7), 7, np.int64), "pixel_values": np.zeros((1, 3, 32, 32), np.float32),
              "attention_mask": np.ones((3, 7), np.int64)}
    sample["attention_mask"][1, 4:] = 0
    outs = ["logits", "pred_boxes", "text_embeds", "image_embeds"]
    dyn = {"input_ids": {0: "num_queries", 1: "sequence_length"}, "attention_mask": {0: "num_queries", 1: "sequence_length"},
           "pixel_values": {0: "batch_size"}, "logits": {0: "batch_size", 2: "num_queries"}, "pred_boxes": {0: "batch_size"},
           "text_embeds": {0: "batch_size", 1: "num_queries"}, "image_embeds": {0: "batch_size"}}
    folder, qinfo = _export_vision(ctx, fx, model, processor, names, sample, outs, dyn)
    copy_tokenizer(ctx, "tiny-bert-wordpiece", folder)
    BertTokenizerFast.from_pretrained(str(folder), model_input_names=["input_ids", "attention_mask"]).save_pretrained(str(folder))
    tok = BertTokenizerFast.from_pretrained(str(folder))
    pipe = pipeline("zero-shot-object-detection", model=model, tokenizer=tok, image_processor=processor, device="cpu")
    s32 = ort_session(folder / "onnx" / "model.onnx")
    enc = tok(OWL_LABELS, padding=True, truncation=True, return_tensors="np")
    names = ("photo.jpg", "odd.png", "tall.png", "rgba.png")
    runs = []
    for name in names:
        pil = _vision_pil(ctx, name)
        pv = processor(pil, return_tensors="np")["pixel_values"]
        feed = {"input_ids": enc["input_ids"].astype(np.int64), "attention_mask": enc["attention_mask"].astype(np.int64), "pixel_values": pv}
        with torch.no_grad():
            t = model(**{k: torch.from_numpy(v) for k, v in feed.items()})
        runs.append((name, pil, t, _ort_feed(s32, feed)))
    every = np.concatenate([torch.sigmoid(t.logits[0]).numpy().reshape(-1) for _, _, t, _ in runs])

    def pick(lo: float, hi: float) -> float:
        # the threshold (2 decimals) farthest from every score, so that float noise cannot flip a detection
        grid = np.round(np.arange(lo, hi + 1e-9, 0.01), 2)
        return float(grid[int(np.argmax([np.min(np.abs(every - g)) for g in grid]))])

    settings = ((pick(0.45, 0.65), None), (pick(0.75, 0.9), 3))
    cases, worst, min_gap = [], 0.0, 1.0
    for name, pil, t, o32 in runs:
        path = str(ctx.out / IMAGE_FOLDER / name)
        worst = max(worst, max_abs(o32["logits"], t.logits.numpy()), max_abs(o32["pred_boxes"], t.pred_boxes.numpy()))
        per = {}
        for threshold, top_k in settings:
            min_gap = min(min_gap, float(np.min(np.abs(every - threshold))))
            piped = pipe(path, candidate_labels=OWL_LABELS, threshold=threshold, top_k=top_k)
            per[f"{threshold}/{top_k}"] = [{"score": f32(d["score"]), "label": d["label"], "box": d["box"]} for d in piped]
        cases.append({"id": name, "image": f"{IMAGE_FOLDER}/{name}", "image_size": [pil.height, pil.width],
                      "torch": {"pipeline": per},
                      "onnx_fp32": {"logits": [f32(r) for r in o32["logits"][0]], "pred_boxes": [f32(r) for r in o32["pred_boxes"][0]]}})
    assert worst < 1e-4, worst
    assert min_gap > 1e-4, min_gap
    ref = _vision_reference(fx, "zero-shot-object-detection", folder, qinfo, "random weights (seeded); class logit scale lifted", cases,
                            candidate_labels=OWL_LABELS, encoding={k: ints(enc[k]) for k in ("input_ids", "attention_mask")},
                            max_abs_diff=worst, min_score_gap_to_threshold=min_gap,
                            notes=["torch.pipeline['threshold/top_k'] = transformers pipeline('zero-shot-object-detection')(path, "
                                   "candidate_labels, threshold, top_k): boxes in pixels (int)",
                                   "onnx_fp32: logits [16, 4] and pred_boxes [16, 4] with the labels encoded together (padding=True)"])
    write_json(folder / "reference.json", ref, limit=REFERENCE_SIZE_LIMIT)
    print(f"  fp32 vs torch {worst:.2g}; min gap {min_gap:.3g}; settings {settings}; detections {[len(next(iter(c['torch']['pipeline'].values()))) for c in cases]}")


OWLV2_CASES = (("photo.jpg", 24), ("odd.png", 16), ("tall.png", 16), ("gray.png", 44))


@fixture("owlv2-preprocessing", kind="reference", deps=("images",))
def build_owlv2_preprocessing(ctx: Context, fx: Fixture):
    """pixel_values of transformers' Owlv2ImageProcessor (pad to a square, scipy's anti-aliased resize) for a
    few committed images and sizes (down- and upscaling): the oracle for onnxformers' numpy version, which the
    test venv checks without scipy."""
    from transformers import Owlv2ImageProcessor

    cases = []
    for name, size in OWLV2_CASES:
        config = {"size": {"height": size, "width": size}}
        pv = Owlv2ImageProcessor(**config)(_vision_pil(ctx, name), return_tensors="np")["pixel_values"][0]
        cases.append({"id": f"{name}@{size}", "image": f"{IMAGE_FOLDER}/{name}", "config": config, "shape": list(pv.shape),
                      "pixel_values": f32(pv.reshape(-1))})
    import scipy

    versions_ = {"scipy": scipy.__version__}
    from make_fixtures import SCHEMA_VERSION, versions

    write_json(ctx.path(fx.name), {"schema": SCHEMA_VERSION, "fixture": fx.name, "versions": {**versions(), **versions_},
                                   "note": "Owlv2ImageProcessor(**config)(load_image(image)).pixel_values[0], row-major CHW",
                                   "cases": cases}, limit=REFERENCE_SIZE_LIMIT)
    print(f"  {len(cases)} cases")


@fixture("sam-post-process-masks", kind="reference")
def build_sam_post_process_masks(ctx: Context, fx: Fixture):
    """SamImageProcessor.post_process_masks (torch F.interpolate to the padded size, crop, to the original
    size) on seeded low-resolution mask logits: the oracle for onnxformers' numpy version."""
    import torch
    from transformers import SamImageProcessor

    from make_fixtures import SCHEMA_VERSION, versions

    rng = np.random.default_rng(1204)
    proc = SamImageProcessor(size={"longest_edge": 64}, pad_size={"height": 64, "width": 64})
    cases = []
    for original, reshaped in (((20, 32), (40, 64)), ((33, 17), (64, 33))):
        low = rng.normal(0, 3, (1, 2, 16, 16)).astype(np.float32)
        raw = proc.post_process_masks([torch.from_numpy(low)], [original], [reshaped], binarize=False)[0].numpy()
        binary = proc.post_process_masks([torch.from_numpy(low)], [original], [reshaped], mask_threshold=0.5)[0].numpy()
        cases.append({"original_size": list(original), "reshaped_input_size": list(reshaped), "pad_size": [64, 64],
                      "low_res_masks": [[[f32(r) for r in m] for m in q] for q in low[0]],
                      "shape": list(raw.shape), "masks": f32(raw.reshape(-1)),
                      "binary_at_0.5": ints(np.flatnonzero(binary.reshape(-1)))})
    write_json(ctx.path(fx.name), {"schema": SCHEMA_VERSION, "fixture": fx.name, "versions": versions(),
                                   "note": "SamImageProcessor(size={longest_edge: 64}, pad_size=64x64).post_process_masks("
                                           "[low_res_masks[None]], [original_size], [reshaped_input_size]): masks = binarize=False "
                                           "(row-major), binary_at_0.5 = flat indices of True with mask_threshold=0.5",
                                   "cases": cases}, limit=REFERENCE_SIZE_LIMIT)
    print(f"  {len(cases)} cases")

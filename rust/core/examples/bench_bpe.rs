//! Micro-benchmark of the BPE model alone (no normalizer / pre-tokenizer cost in the timing).
//!
//! Usage: cargo run --release -p onnxformers-core --example bench_bpe -- TOKENIZER_JSON [TEXT_FILE]
//!
//! The text is split with the GPT-2 regex and mapped to byte-level chars up front, then every
//! piece goes through the model: once cold (empty cache), then warm, both single-threaded, then
//! on rayon. Throughput is in MB of original text per second.
use onnxformers_core::tokenizer::byte_level::encode_bytes;
use onnxformers_core::tokenizer::models::{self, Model};
use rayon::prelude::*;
use std::time::Instant;

const GPT2_PATTERN: &str =
    r"'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+";

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let Some(tok_path) = args.get(1) else {
        eprintln!("usage: bench_bpe TOKENIZER_JSON [TEXT_FILE]");
        std::process::exit(2);
    };
    let json: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(tok_path).expect("read tokenizer.json"))
            .expect("parse tokenizer.json");
    let t = Instant::now();
    let model = models::from_json(&json["model"]).expect("load model");
    println!(
        "load: {:.1} ms ({} vocab)",
        t.elapsed().as_secs_f64() * 1e3,
        model.vocab_size()
    );

    let text = match args.get(2) {
        Some(p) => std::fs::read_to_string(p).expect("read text"),
        None => "The quick brown fox jumps over the lazy dog, 12345 times! ".repeat(20_000),
    };
    let re = fancy_regex::Regex::new(GPT2_PATTERN).unwrap();
    let pieces: Vec<String> = re
        .find_iter(&text)
        .map(|m| encode_bytes(m.unwrap().as_str()))
        .collect();
    let mb = text.len() as f64 / 1e6;
    println!("text: {:.2} MB, {} pieces", mb, pieces.len());

    // Best of `reps` runs: the machine may be shared, the minimum is the least disturbed.
    let run_n = |label: &str, reps: usize, f: &dyn Fn() -> usize| {
        let mut best = f64::MAX;
        let mut n = 0;
        for _ in 0..reps {
            let t = Instant::now();
            n = f();
            best = best.min(t.elapsed().as_secs_f64());
        }
        println!(
            "{label:<28} {:>8.1} MB/s  {:>10} tokens  {:.3} s",
            mb / best,
            n,
            best
        );
    };
    let run = |label: &str, f: &dyn Fn() -> usize| run_n(label, 5, f);
    let tokenize_all = || {
        pieces
            .iter()
            .map(|p| model.tokenize(p).unwrap().len())
            .sum::<usize>()
    };
    let ids_all = || {
        let mut out = Vec::new();
        for p in &pieces {
            model.tokenize_ids(p, &mut out).unwrap();
        }
        out.len()
    };
    run_n("tokenize (cold cache)", 1, &tokenize_all);
    run("tokenize (warm cache)", &tokenize_all);
    run("tokenize_ids (warm)", &ids_all);
    run("tokenize x rayon (warm)", &|| {
        pieces
            .par_iter()
            .map(|p| model.tokenize(p).unwrap().len())
            .sum::<usize>()
    });

    // Uncached path: the same model without its cache.
    let mut raw = models::from_json(&json["model"]).expect("load model");
    raw.set_cache_capacity(0);
    run("tokenize (no cache)", &|| {
        pieces
            .iter()
            .map(|p| raw.tokenize(p).unwrap().len())
            .sum::<usize>()
    });
    run("tokenize_ids (no cache)", &|| {
        let mut out = Vec::new();
        for p in &pieces {
            raw.tokenize_ids(p, &mut out).unwrap();
        }
        out.len()
    });
}

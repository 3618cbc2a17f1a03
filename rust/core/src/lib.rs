pub mod audio;
pub mod generation;
pub mod tokenizer;

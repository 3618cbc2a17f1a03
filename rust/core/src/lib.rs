pub mod audio;
pub mod generation;
pub mod image;
pub mod tokenizer;

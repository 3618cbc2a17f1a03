pub mod audio;
pub mod generation;
pub mod image;
pub mod tokenizer;

#[cfg(test)]
mod test_util;

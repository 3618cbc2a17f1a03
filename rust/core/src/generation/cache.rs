//! KV-cache bookkeeping that beam search does between steps.

use super::{invalid_input, Result};

/// Gathers whole rows in place: afterwards row `i` holds what row `src[i]` held before. `data`
/// is `src.len()` rows of equal length (any element type; a fused `batch*heads` layout is rows
/// of several heads). Only moved rows are copied, each straight from its source, in an order
/// where no row is overwritten before every row reading it has been written; a cycle of moves
/// goes through one spare row. Beams mostly keep their rows, so a fraction of the cache moves
/// and nothing is allocated but that spare row.
pub fn gather_rows_in_place<T: Copy>(data: &mut [T], src: &[usize]) -> Result<()> {
    let rows = src.len();
    if rows == 0 {
        return if data.is_empty() {
            Ok(())
        } else {
            invalid_input("gather_rows_in_place: no rows given for a non-empty buffer")
        };
    }
    if !data.len().is_multiple_of(rows) {
        return invalid_input(format!(
            "a cache buffer of {} elements does not split into {rows} rows",
            data.len()
        ));
    }
    if let Some(&bad) = src.iter().find(|&&j| j >= rows) {
        return invalid_input(format!("row index {bad} out of range for {rows} rows"));
    }
    let len = data.len() / rows;
    let mut pending: Vec<bool> = src.iter().enumerate().map(|(i, &j)| i != j).collect();
    // readers[j]: pending rows that still have to copy row j
    let mut readers = vec![0usize; rows];
    for (i, &j) in src.iter().enumerate() {
        if pending[i] {
            readers[j] += 1;
        }
    }
    let mut ready: Vec<usize> = (0..rows)
        .filter(|&i| pending[i] && readers[i] == 0)
        .collect();
    while let Some(i) = ready.pop() {
        let j = src[i];
        data.copy_within(j * len..(j + 1) * len, i * len);
        pending[i] = false;
        readers[j] -= 1;
        if readers[j] == 0 && pending[j] {
            ready.push(j);
        }
    }
    // what is left are pure cycles (every row read by exactly one other): rotate each
    let mut spare: Vec<T> = Vec::new();
    for start in 0..rows {
        if !pending[start] {
            continue;
        }
        spare.clear();
        spare.extend_from_slice(&data[start * len..(start + 1) * len]);
        let mut k = start;
        loop {
            let j = src[k];
            pending[k] = false;
            if j == start {
                data[k * len..(k + 1) * len].copy_from_slice(&spare);
                break;
            }
            data.copy_within(j * len..(j + 1) * len, k * len);
            k = j;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn gathered(rows: usize, len: usize, src: &[usize]) -> Vec<u32> {
        let mut data: Vec<u32> = (0..(rows * len) as u32).collect();
        gather_rows_in_place(&mut data, src).unwrap();
        data
    }

    #[test]
    fn generation_cache_gather_rows_in_place_equals_a_copying_gather() {
        // every map of 4 rows (256 of them: duplicates, cycles, chains, fixed points), 3 lengths
        for len in [1usize, 3, 8] {
            for code in 0..256usize {
                let src: Vec<usize> = (0..4).map(|k| (code >> (2 * k)) & 3).collect();
                let want: Vec<u32> = src
                    .iter()
                    .flat_map(|&j| (j * len) as u32..((j + 1) * len) as u32)
                    .collect();
                assert_eq!(gathered(4, len, &src), want, "src {src:?} len {len}");
            }
        }
        // a longer cycle and a chain feeding into it
        let src = [1, 2, 3, 0, 4, 4, 5];
        let want: Vec<u32> = src.iter().map(|&j| j as u32).collect();
        assert_eq!(gathered(7, 1, &src), want);
    }

    #[test]
    fn generation_cache_gather_rows_rejects_bad_shapes() {
        assert!(gather_rows_in_place(&mut [0u8; 10], &[0, 1, 2]).is_err());
        assert!(gather_rows_in_place(&mut [0u8; 4], &[0, 2]).is_err());
        assert!(gather_rows_in_place(&mut [0u8; 4], &[]).is_err());
        assert!(gather_rows_in_place::<u8>(&mut [], &[]).is_ok());
    }
}

//! Diagnostics helpers: collecting several errors, "did you mean", and how shapes and
//! numbers read in messages.

/// Collects errors so that independent mistakes are all reported in one build.
#[derive(Default)]
pub struct Errors {
    first: Option<syn::Error>,
}

impl Errors {
    pub fn push(&mut self, error: syn::Error) {
        match &mut self.first {
            Some(first) => first.combine(error),
            None => self.first = Some(error),
        }
    }

    /// The errors collected so far, leaving none.
    pub fn first_take(&mut self) -> Option<syn::Error> {
        self.first.take()
    }

    pub fn finish(self) -> syn::Result<()> {
        match self.first {
            Some(e) => Err(e),
            None => Ok(()),
        }
    }
}

/// Edit distance (insertions, deletions, substitutions, and swaps of two adjacent
/// letters, the commonest typo: `Basci` is one edit from `Basic`).
pub fn levenshtein(a: &str, b: &str) -> usize {
    let (a, b): (Vec<char>, Vec<char>) = (a.chars().collect(), b.chars().collect());
    let mut before: Vec<usize> = vec![0; b.len() + 1];
    let mut above: Vec<usize> = (0..=b.len()).collect();
    for i in 0..a.len() {
        let mut row = vec![i + 1; b.len() + 1];
        for j in 0..b.len() {
            let mut d = (above[j + 1] + 1).min(row[j] + 1).min(above[j] + usize::from(a[i] != b[j]));
            if i > 0 && j > 0 && a[i] == b[j - 1] && a[i - 1] == b[j] {
                d = d.min(before[j - 1] + 1);
            }
            row[j + 1] = d;
        }
        before = std::mem::replace(&mut above, row);
    }
    above[b.len()]
}

/// The closest candidate, if it is close enough to be a plausible typo.
pub fn did_you_mean<'a>(word: &str, candidates: &[&'a str]) -> Option<&'a str> {
    let lower = word.to_lowercase();
    candidates
        .iter()
        .map(|c| (levenshtein(&lower, &c.to_lowercase()), *c))
        .filter(|(d, c)| {
            let c_lower = c.to_lowercase();
            *d <= (c.len().max(word.len()) / 3).max(1) || c_lower.starts_with(&lower) || lower.starts_with(&c_lower)
        })
        .min_by_key(|(d, _)| *d)
        .map(|(_, c)| c)
}

/// `[6, 28, 28]`
pub fn shape(dims: &[u64]) -> String {
    let inner: Vec<String> = dims.iter().map(|d| d.to_string()).collect();
    format!("[{}]", inner.join(", "))
}

/// `1 channel`, `1,176 features`.
pub fn count(n: u64, noun: &str) -> String {
    format!("{} {noun}{}", thousands(n), if n == 1 { "" } else { "s" })
}

/// `3456` → `3,456`
pub fn thousands(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn suggestions() {
        let kinds = ["conv", "linear", "maxpool", "avgpool", "relu", "tanh", "flatten"];
        assert_eq!(did_you_mean("convv", &kinds), Some("conv"));
        assert_eq!(did_you_mean("Linear", &kinds), Some("linear"));
        assert_eq!(did_you_mean("max_pool", &kinds), Some("maxpool"));
        assert_eq!(did_you_mean("dense", &kinds), None);
        assert_eq!(levenshtein("kitten", "sitting"), 3);
        assert_eq!(levenshtein("basci", "basic"), 1);
        assert_eq!(did_you_mean("Basci", &["Basic", "Down"]), Some("Basic"));
    }
}

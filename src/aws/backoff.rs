//! The wait before the next attempt after consecutive failures, shared by the consumers.

use std::time::Duration;

/// `initial` doubled per consecutive failure after the first, at most `max`.
pub(super) fn exponential(initial: Duration, max: Duration, failures: u32) -> Duration {
    initial.saturating_mul(1 << failures.saturating_sub(1).min(16)).min(max)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn doubles_then_caps() {
        let ms = Duration::from_millis;
        let got: Vec<_> = (1..=6).map(|n| exponential(ms(100), ms(1000), n)).collect();
        assert_eq!(got, [ms(100), ms(200), ms(400), ms(800), ms(1000), ms(1000)]);
        assert_eq!(exponential(ms(100), ms(1000), u32::MAX), ms(1000));
    }
}

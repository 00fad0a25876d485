//! The service's limits on one stream's reads, kept by the reader rather than learnt from
//! throttling: calls per second, and bytes per second across every batch in flight.

use std::sync::Mutex;
use std::time::Duration;

use tokio::time::Instant;

/// Spaces the calls of one read so that they stay under the service's calls per second.
#[derive(Debug)]
pub(super) struct Pacer {
    interval: Duration,
    next: Mutex<Instant>,
}

impl Pacer {
    pub fn new(calls_per_second: f64) -> Pacer {
        let interval = Duration::from_secs_f64(1.0 / calls_per_second.max(0.001));
        Pacer { interval, next: Mutex::new(Instant::now()) }
    }

    /// Waits for this call's turn.
    pub async fn turn(&self) {
        let at = {
            let mut next = self.next.lock().unwrap_or_else(|p| p.into_inner());
            let at = (*next).max(Instant::now());
            *next = at + self.interval;
            at
        };
        tokio::time::sleep_until(at).await;
    }
}

/// How far ahead of the rate reading may run.
const BURST: Duration = Duration::from_secs(1);

/// Keeps the bytes read by every batch of one read under a rate: each body chunk is paid for
/// when it arrives, and the reader waits until the rate has caught up with what was read.
/// Up to one second's worth of bytes passes ahead of the rate; time spent not reading (a
/// stall, a back-off) is not saved up for a larger burst later.
#[derive(Debug)]
pub(super) struct ByteRate {
    bytes_per_second: Option<u64>,
    /// When the bytes paid for so far will have been read at the rate.
    paid_until: Mutex<Instant>,
}

impl ByteRate {
    /// `None`: no limit.
    pub fn new(bytes_per_second: Option<u64>) -> ByteRate {
        ByteRate { bytes_per_second: bytes_per_second.filter(|&r| r > 0), paid_until: Mutex::new(Instant::now()) }
    }

    /// Pays for `bytes` just read; returns once reading more keeps within the rate.
    pub async fn pay(&self, bytes: usize) {
        let Some(rate) = self.bytes_per_second else { return };
        let cost = Duration::from_secs_f64(bytes as f64 / rate as f64);
        let wait_until = {
            let mut paid = self.paid_until.lock().unwrap_or_else(|p| p.into_inner());
            *paid = (*paid).max(Instant::now()) + cost;
            *paid - BURST
        };
        tokio::time::sleep_until(wait_until).await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn near(took: Duration, want_ms: f64) -> bool {
        (took.as_secs_f64() * 1000.0 - want_ms).abs() < 1.0
    }

    /// On tokio's paused clock: reading N seconds' worth of bytes takes N - 1 s (one second's
    /// burst is free), whatever the chunk sizes; no limit costs nothing.
    #[tokio::test(start_paused = true)]
    async fn byte_rate_holds_reads_to_the_rate() {
        let rate = ByteRate::new(Some(1_000_000));
        let start = Instant::now();
        let mut total = 0;
        for &size in [1usize, 65_536, 7, 300_000].iter().cycle().take(120) {
            rate.pay(size).await;
            total += size;
        }
        let took = start.elapsed();
        assert!(near(took, total as f64 / 1000.0 - 1000.0), "{took:?} for {total} bytes");

        let free = ByteRate::new(None);
        let start = Instant::now();
        free.pay(1 << 30).await;
        assert_eq!(start.elapsed(), Duration::ZERO);
    }

    /// Time spent not reading is not saved up for a burst larger than one second's worth.
    #[tokio::test(start_paused = true)]
    async fn an_idle_spell_buys_at_most_one_second() {
        let rate = ByteRate::new(Some(1_000));
        rate.pay(1_000).await;
        tokio::time::sleep(Duration::from_secs(60)).await;
        let start = Instant::now();
        rate.pay(3_000).await;
        assert!(near(start.elapsed(), 2000.0), "{:?}", start.elapsed());
    }

    #[tokio::test(start_paused = true)]
    async fn calls_are_spaced() {
        let pacer = Pacer::new(5.0);
        let start = Instant::now();
        for _ in 0..11 {
            pacer.turn().await;
        }
        assert!(near(start.elapsed(), 2000.0), "{:?}", start.elapsed());
    }
}

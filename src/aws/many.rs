//! Many streams on one runtime: a task per stream, a bounded queue per stream, served in turn.

use std::sync::{Arc, Mutex};
use std::task::Poll;

use tokio::sync::mpsc;
use tokio::task::JoinHandle;

use super::live::save_checkpoint;
use super::{CheckpointStore, ConsumerBuilder, ConsumerError, LiveItem, StartSelector, StreamStatus};

/// One stream's side of a [`MultiStreamConsumer`].
#[derive(Debug)]
struct Lane {
    stream: Arc<str>,
    items: mpsc::Receiver<Result<LiveItem, ConsumerError>>,
    open: bool,
    status: Arc<Mutex<StreamStatus>>,
    checkpoints: Option<Arc<dyn CheckpointStore>>,
    task: JoinHandle<()>,
}

/// Live consumers of a set of streams, on the current tokio runtime: one task per stream
/// (its own [`LiveConsumer`](super::LiveConsumer): connection, backoff, give-up), each with a
/// queue of at most `queue` items, so a stream whose items are not taken stops reading
/// (memory is bounded per stream) and cannot starve the others: [`next`](Self::next) serves
/// the streams with items ready in turn. Every item is tagged with its stream; a stream that
/// gave up yields its [`ConsumerError::GaveUp`] and ends, the others go on.
///
/// Resume points are saved, as by a single consumer, when the caller comes back for the next
/// item after a fragment of that stream.
///
/// ```no_run
/// # async fn run() -> Result<(), Box<dyn std::error::Error>> {
/// use kinesis_video_parser::aws::{LiveConsumer, LiveItem, MultiStreamConsumer};
/// let sdk = aws_config::load_defaults(aws_config::BehaviorVersion::latest()).await;
/// let builders = ["cam-1", "cam-2"].map(LiveConsumer::builder);
/// let mut all = MultiStreamConsumer::new(builders, &sdk, 64);
/// while let Some((stream, item)) = all.next().await {
///     if let Ok(LiveItem::Fragment(f)) = item {
///         println!("{stream}: fragment {:?}", f.meta.kvs.fragment_number);
///     }
/// }
/// # Ok(())
/// # }
/// ```
#[derive(Debug)]
pub struct MultiStreamConsumer {
    lanes: Vec<Lane>,
    /// The lane served last: the search for the next item starts after it.
    turn: usize,
    /// The lane and resume point of the last fragment handed out, saved on the next call.
    unsaved: Option<(usize, StartSelector)>,
}

impl MultiStreamConsumer {
    /// Starts a consumer per builder (their checkpoint stores, if any, are used for their
    /// streams), each with a queue of `queue` items (at least 1). Must be called inside a
    /// tokio runtime.
    pub fn new(builders: impl IntoIterator<Item = ConsumerBuilder>, sdk: &aws_types::SdkConfig, queue: usize) -> Self {
        let lanes = builders
            .into_iter()
            .map(|b| {
                let checkpoints = b.checkpoints.clone();
                let mut live = b.live(sdk);
                live.saves = false; // saved here, once the caller took the fragment
                let (tx, rx) = mpsc::channel(queue.max(1));
                let (stream, status) = (live.stream().clone(), live.status_handle());
                let task = tokio::spawn(async move {
                    while let Some(item) = live.next().await {
                        if tx.send(item).await.is_err() {
                            return;
                        }
                    }
                });
                Lane { stream, items: rx, open: true, status, checkpoints, task }
            })
            .collect();
        MultiStreamConsumer { lanes, turn: 0, unsaved: None }
    }

    /// The streams, in the order given.
    pub fn streams(&self) -> impl Iterator<Item = &Arc<str>> {
        self.lanes.iter().map(|l| &l.stream)
    }

    /// Each stream's state and progress now (lag, failures, what it is doing).
    pub fn status(&self) -> Vec<(Arc<str>, StreamStatus)> {
        self.lanes
            .iter()
            .map(|l| (l.stream.clone(), l.status.lock().unwrap_or_else(|p| p.into_inner()).clone()))
            .collect()
    }

    /// How many items each stream has ready in its queue now (at most the `queue` given to
    /// [`new`](Self::new)): a stream at its bound is not reading until its items are taken.
    pub fn queued(&self) -> Vec<(Arc<str>, usize)> {
        self.lanes.iter().map(|l| (l.stream.clone(), l.items.len())).collect()
    }

    /// Stops consuming `stream`: its task ends, items not yet taken are dropped (and their
    /// resume points not saved), and `next` serves the other streams.
    pub fn stop(&mut self, stream: &str) {
        for lane in self.lanes.iter_mut().filter(|l| &*l.stream == stream) {
            lane.task.abort();
            lane.open = false;
        }
    }

    /// Saves the resume point of the last fragment handed out, if not saved yet;
    /// [`next`](Self::next) does this first.
    ///
    /// # Errors
    /// [`ConsumerError::Checkpoint`]: the store failed.
    pub async fn save_checkpoint(&mut self) -> Result<(), ConsumerError> {
        let Some((i, point)) = &self.unsaved else { return Ok(()) };
        let lane = &self.lanes[*i];
        if let Some(store) = &lane.checkpoints {
            // On failure the point stays unsaved, tried again on the next call.
            save_checkpoint(store.clone(), lane.stream.clone(), point.clone()).await?;
        }
        self.unsaved = None;
        Ok(())
    }

    /// The next item of any stream, with its stream; `None` once every stream ended.
    pub async fn next(&mut self) -> Option<(Arc<str>, Result<LiveItem, ConsumerError>)> {
        if let Some((i, _)) = &self.unsaved {
            let stream = self.lanes[*i].stream.clone();
            if let Err(e) = self.save_checkpoint().await {
                return Some((stream, Err(e)));
            }
        }
        let (lane, item) = std::future::poll_fn(|cx| {
            let n = self.lanes.len();
            let mut any_open = false;
            for k in 1..=n {
                let i = (self.turn + k) % n;
                let lane = &mut self.lanes[i];
                if !lane.open {
                    continue;
                }
                match lane.items.poll_recv(cx) {
                    Poll::Ready(Some(item)) => {
                        self.turn = i;
                        return Poll::Ready(Some((i, item)));
                    }
                    Poll::Ready(None) => lane.open = false,
                    Poll::Pending => any_open = true,
                }
            }
            if any_open {
                Poll::Pending
            } else {
                Poll::Ready(None)
            }
        })
        .await?;
        if let Ok(LiveItem::Fragment(f)) = &item {
            if let Some(point) = &f.resume_after {
                self.unsaved = Some((lane, point.clone()));
            }
        }
        Some((self.lanes[lane].stream.clone(), item))
    }
}

impl Drop for MultiStreamConsumer {
    fn drop(&mut self) {
        for lane in &self.lanes {
            lane.task.abort();
        }
    }
}

//! Recent rows: world-model batches in which some rows start among the store's
//! newest steps, where the policy that collected them went.
//!
//! With uniform draws, the steps of the latest epoch are a shrinking share of each
//! batch (200 of 12,000 stored steps: one row in sixty), so the world model learns
//! what the newest policy meets more slowly the longer a run goes. These rows keep a
//! fixed share on the last `window` steps collected. Nothing undoes their draw: the
//! point is to weigh the newest data more.

use rand::Rng;

use super::sample::SegmentBatch;
use super::{EpisodeStore, StoreError};

impl EpisodeStore {
    /// As [`EpisodeStore::sample_segments`] with `Padding::Right`, except that the
    /// first `recent` rows start uniformly among the valid first steps that lie in the
    /// store's last `window` steps in sampling order (completed episodes oldest
    /// first, then those in progress): with one collecting environment, the last
    /// `window` steps collected. Where the window holds no valid first step, every
    /// row is drawn uniformly. With `recent = 0` the segments are `sample_segments`'
    /// draw for draw.
    pub fn sample_segments_with_recent<R: Rng + ?Sized>(
        &self,
        rng: &mut R,
        batch: usize,
        len: usize,
        min_real: usize,
        recent: usize,
        window: usize,
    ) -> Result<SegmentBatch, StoreError> {
        let starts = if recent == 0 {
            Vec::new()
        } else {
            self.recent_starts(len, min_real, window)
        };
        let recent = if starts.is_empty() {
            0
        } else {
            recent.min(batch)
        };
        self.sample_segments_led_by(rng, batch, len, min_real, &starts, recent)
    }

    /// (episode index, first step) of every valid right-padded first step among the
    /// last `window` steps in sampling order.
    fn recent_starts(&self, len: usize, min_real: usize, window: usize) -> Vec<(usize, usize)> {
        let need = min_real.clamp(1, len);
        let mut before_window = self.num_steps().saturating_sub(window);
        let mut starts = Vec::new();
        for (index, episode) in self.episodes().enumerate() {
            let skipped = before_window.min(episode.len());
            before_window -= skipped;
            starts.extend((skipped..episode.anchors(need)).map(|first| (index, first)));
        }
        starts
    }
}

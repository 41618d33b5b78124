//! Writing and reading the episode store: exact round trips, and clear errors for
//! truncated or corrupt files.

use rand::rngs::StdRng;
use rand::SeedableRng;
use rem_envs::store::{
    EpisodeStore, Padding, StoreError, Transition, FORMAT_VERSION, MAGIC, STEP_BYTES,
};
use rem_envs::{Frame, FRAME_BYTES};

fn transition(tag: u8, end: bool) -> Transition {
    let bytes = (0..FRAME_BYTES)
        .map(|i| (i as u8).wrapping_mul(tag))
        .collect();
    Transition {
        obs: Frame::from_bytes(bytes),
        action: tag as usize % 4,
        reward: tag as f32 * 0.5 - 1.0,
        terminated: end && tag.is_multiple_of(2),
        truncated: end && tag % 2 == 1,
        life_lost: tag == 5,
    }
}

/// A store with dropped, completed and in-progress episodes.
fn sample_store() -> EpisodeStore {
    let mut store = EpisodeStore::new(9 * STEP_BYTES);
    for (env, tags) in [(0, 1..4), (1, 4..7), (0, 7..9), (2, 9..11)] {
        let last = tags.end - 1;
        for tag in tags {
            store.push(env, transition(tag, tag == last && env != 2));
        }
    }
    store.push(1, transition(11, false));
    assert!(store.dropped_episodes() > 0 && store.num_complete_episodes() > 0);
    assert!(store.num_episodes() > store.num_complete_episodes());
    store
}

fn bytes_of(store: &EpisodeStore) -> Vec<u8> {
    let mut out = Vec::new();
    store.write_to(&mut out).unwrap();
    out
}

#[test]
fn round_trip_restores_the_store_exactly() {
    let store = sample_store();
    let bytes = bytes_of(&store);
    let restored = EpisodeStore::read_from(&mut bytes.as_slice()).unwrap();
    assert_eq!(restored, store);
    assert_eq!(restored.episode_lens(), store.episode_lens());
    assert_eq!(restored.dropped_episodes(), store.dropped_episodes());
    let a = store
        .sample_segments(&mut StdRng::seed_from_u64(3), 5, 4, Padding::Right, 1)
        .unwrap();
    let b = restored
        .sample_segments(&mut StdRng::seed_from_u64(3), 5, 4, Padding::Right, 1)
        .unwrap();
    assert_eq!(a, b);
    // Writing is deterministic.
    assert_eq!(bytes_of(&restored), bytes);
}

#[test]
fn restored_episodes_in_progress_continue() {
    let store = sample_store();
    let mut restored = EpisodeStore::read_from(&mut bytes_of(&store).as_slice()).unwrap();
    let open_before = restored.num_episodes() - restored.num_complete_episodes();
    restored.push(2, transition(12, true));
    assert_eq!(
        restored.num_episodes() - restored.num_complete_episodes(),
        open_before - 1
    );
}

#[test]
fn empty_store_round_trips() {
    let store = EpisodeStore::new(1234);
    let restored = EpisodeStore::read_from(&mut bytes_of(&store).as_slice()).unwrap();
    assert_eq!(restored, store);
    assert_eq!(restored.max_bytes(), 1234);
}

#[test]
fn file_starts_with_magic_and_version() {
    let bytes = bytes_of(&sample_store());
    assert_eq!(&bytes[..8], &MAGIC);
    assert_eq!(
        u32::from_le_bytes(bytes[8..12].try_into().unwrap()),
        FORMAT_VERSION
    );
}

#[test]
fn truncated_files_are_reported() {
    let bytes = bytes_of(&sample_store());
    let n = bytes.len();
    for cut in [
        0,
        3,
        8,
        11,
        19,
        30,
        60,
        100,
        n / 3,
        n / 2,
        n - 9,
        n - 8,
        n - 1,
    ] {
        let result = EpisodeStore::read_from(&mut &bytes[..cut]);
        assert!(
            matches!(result, Err(StoreError::Truncated)),
            "cut at {cut} of {n}: {result:?}"
        );
    }
}

#[test]
fn corrupt_bytes_are_reported() {
    let bytes = bytes_of(&sample_store());
    let n = bytes.len();
    // Flips in the columns, the frames and the checksum itself fail the checksum.
    let first_record = 8 + 12 + 24 + 16;
    for position in [first_record, first_record + 13, n / 2, n - 20, n - 1] {
        let mut corrupt = bytes.clone();
        corrupt[position] ^= 0x10;
        let result = EpisodeStore::read_from(&mut corrupt.as_slice());
        assert!(
            matches!(result, Err(StoreError::ChecksumMismatch { .. })),
            "flip at {position}: {result:?}"
        );
    }
    // Flips in the payload size, the record count and a record length fail the
    // structure checks before the checksum is reached.
    for position in [12, 36, 8 + 12 + 24 + 8] {
        let mut corrupt = bytes.clone();
        corrupt[position] ^= 0x01;
        let err = EpisodeStore::read_from(&mut corrupt.as_slice()).unwrap_err();
        assert!(
            matches!(err, StoreError::Corrupt(_)),
            "flip at {position}: {err}"
        );
        assert!(err.to_string().starts_with("episode store file is corrupt"));
    }
}

#[test]
fn wrong_magic_and_version_are_reported() {
    let bytes = bytes_of(&sample_store());
    let mut wrong_magic = bytes.clone();
    wrong_magic[0] = b'X';
    assert!(matches!(
        EpisodeStore::read_from(&mut wrong_magic.as_slice()),
        Err(StoreError::BadMagic)
    ));
    let mut wrong_version = bytes;
    wrong_version[8..12].copy_from_slice(&(FORMAT_VERSION + 1).to_le_bytes());
    let err = EpisodeStore::read_from(&mut wrong_version.as_slice()).unwrap_err();
    assert!(
        matches!(err, StoreError::UnsupportedVersion { found, expected }
        if found == FORMAT_VERSION + 1 && expected == FORMAT_VERSION)
    );
    assert!(err.to_string().contains("version"));
}

#[test]
fn save_and_load_through_a_file() {
    let dir = std::env::temp_dir().join(format!("rem-store-test-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("episodes.bin");
    let store = sample_store();
    store.save(&path).unwrap();
    assert!(
        !dir.join("episodes.bin.tmp").exists(),
        "the temporary file is renamed"
    );
    assert_eq!(EpisodeStore::load(&path).unwrap(), store);
    let missing = EpisodeStore::load(&dir.join("missing.bin")).unwrap_err();
    assert!(matches!(missing, StoreError::Io(_)));
    std::fs::remove_dir_all(&dir).unwrap();
}

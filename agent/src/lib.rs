pub mod actor_critic;
pub mod bench;
pub mod config;
pub mod fit;
pub mod images;
pub mod imagine;
pub mod play;
pub mod returns;

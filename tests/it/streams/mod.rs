//! Stream rules per profile: real encodes whose output ffprobe must show with exactly the
//! planned streams (`encode`), and the rules edited through the profile form (`page`).

mod encode;
mod page;

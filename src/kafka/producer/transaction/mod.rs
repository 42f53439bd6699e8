//! The transactional producer (transactional.id): librdkafka's transaction
//! manager. `state` keeps where it is, `calls` are the application's
//! blocking calls, `tasks` the coordinator work on the producer's runtime,
//! `error` what each failure means. The accumulator holds a transaction's
//! records back until their partition is added to it (the sender's
//! AddPartitionsToTxn job), and `answer` makes a failed record abort the
//! transaction.

pub mod calls;
pub mod error;
pub mod state;
pub mod tasks;
#[cfg(test)]
mod tests;

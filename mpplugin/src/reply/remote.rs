//! A [`Reply`] across processes (feature `serde`): its serde impls, and the
//! sink a child's copy points at. There is no file descriptor to pass: the
//! process host serialises each message inside [`serialising`], where a
//! `Reply` writes a fresh id and leaves the host an [`Outgoing`] (how to
//! decode an answer and queue it); the child deserialises inside
//! [`deserialising`], where a `Reply` becomes a [`Remote`] sink that sends
//! each answer through the child's [`Link`] and says when its last clone is
//! gone. Outside those two, either way is a serde error. Holds no socket
//! and no frame: `process/` does the writing and the reading.

// With `serde` alone (a message type's crate), or where there is no process
// host (it is unix only), only the impls are used: the contexts are the
// process host's.
#![cfg_attr(not(all(feature = "process", unix)), allow(dead_code))]

use std::any::type_name;
use std::cell::RefCell;
use std::fmt;
use std::marker::PhantomData;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use serde::de::{self, DeserializeOwned, Deserializer};
use serde::ser::{self, Serializer};
use serde::{Deserialize, Serialize};

use super::Reply;
use super::sink::Sink;

/// A `Reply` serialised by the process host: the id written for it, and
/// how an answer that a child sends under that id reaches its channel.
pub(crate) struct Outgoing {
    pub(crate) id: u64,
    /// The answer's type, as `type_name` spells it.
    pub(crate) answer: &'static str,
    /// Decodes an answer and queues it; the text says why it did not
    /// decode. Holds a clone of the `Reply`, so the channel stays open
    /// while this lives. Runs the user's code (the answer's `Deserialize`
    /// and `Drop`, a waiting task's waker), which may panic; shared, so
    /// that it can be called with no lock held.
    pub(crate) deliver: Deliver,
}

/// Decodes an answer's bytes and queues the answer.
pub(crate) type Deliver = Arc<dyn Fn(&[u8]) -> Result<(), String> + Send + Sync>;

impl fmt::Debug for Outgoing {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Outgoing")
            .field("id", &self.id)
            .finish_non_exhaustive()
    }
}

/// A child's way back to its host, for the `Reply`s it deserialised.
pub(crate) trait Link: Send + Sync {
    /// The largest encoding of an answer that the host takes, in bytes.
    fn largest_answer(&self) -> usize;
    /// Sends an answer's encoding under `id`; whether it was written.
    fn reply(&self, id: u64, bytes: &[u8]) -> bool;
    /// The last clone of `id`'s `Reply` in this child is gone.
    fn release(&self, id: u64);
}

enum Context {
    /// The process host serialises a message: the `Reply`s met so far.
    Host(Vec<Outgoing>),
    /// A child deserialises a message.
    Child(Arc<dyn Link>),
}

thread_local! {
    static CONTEXT: RefCell<Option<Context>> = const { RefCell::new(None) };
}

/// Ids are unique in the host's process, across its hosts.
static NEXT_ID: AtomicU64 = AtomicU64::new(1);

/// Puts the previous context back, even when `f` unwinds.
struct Restore(Option<Context>);

impl Drop for Restore {
    fn drop(&mut self) {
        let previous = self.0.take();
        CONTEXT.with(|context| *context.borrow_mut() = previous);
    }
}

fn enter(context: Context) -> Restore {
    Restore(CONTEXT.with(|current| current.borrow_mut().replace(context)))
}

/// Runs `f` (the process host's serialisation of one message) with every
/// `Reply` it meets registered; returns what `f` returned and the `Reply`s.
pub(crate) fn serialising<T>(f: impl FnOnce() -> T) -> (T, Vec<Outgoing>) {
    let restore = enter(Context::Host(Vec::new()));
    let value = f();
    let met = CONTEXT.with(|context| match context.borrow_mut().take() {
        Some(Context::Host(met)) => met,
        _ => Vec::new(),
    });
    drop(restore);
    (value, met)
}

/// Runs `f` (a child's deserialisation of one message) with every `Reply`
/// it meets answering through `link`.
pub(crate) fn deserialising<T>(link: &Arc<dyn Link>, f: impl FnOnce() -> T) -> T {
    let _restore = enter(Context::Child(Arc::clone(link)));
    f()
}

const SERIALISED_OUTSIDE: &str = "an mpplugin `Reply` serialises only inside a message that `mpplugin::process::Host` sends (it stands for a channel in this process, which a copy elsewhere could not reach)";
const DESERIALISED_OUTSIDE: &str = "an mpplugin `Reply` deserialises only inside a message that a plugin's child process reads from `mpplugin::process::Host`";

impl<R: Serialize + DeserializeOwned + Send + 'static> Serialize for Reply<R> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let id = CONTEXT.with(|context| match &mut *context.borrow_mut() {
            Some(Context::Host(met)) => {
                let id = NEXT_ID.fetch_add(1, Ordering::Relaxed);
                let reply = self.clone();
                met.push(Outgoing {
                    id,
                    answer: type_name::<R>(),
                    deliver: Arc::new(move |bytes| {
                        let value = postcard::from_bytes::<R>(bytes).map_err(|error| {
                            format!("a reply does not decode as `{}`: {error}", type_name::<R>())
                        })?;
                        // The host may have dropped its `Replies`: the
                        // answer goes nowhere, as in-process.
                        let _ = reply.send(value);
                        Ok(())
                    }),
                });
                Some(id)
            }
            _ => None,
        });
        match id {
            Some(id) => serializer.serialize_u64(id),
            None => Err(ser::Error::custom(SERIALISED_OUTSIDE)),
        }
    }
}

impl<'de, R: Serialize + DeserializeOwned + Send + 'static> Deserialize<'de> for Reply<R> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let id = u64::deserialize(deserializer)?;
        let link = CONTEXT.with(|context| match &*context.borrow() {
            Some(Context::Child(link)) => Some(Arc::clone(link)),
            _ => None,
        });
        let link = link.ok_or_else(|| de::Error::custom(DESERIALISED_OUTSIDE))?;
        Ok(Self::from_sink(Arc::new(Remote::<R> {
            id,
            link,
            value: PhantomData,
        })))
    }
}

/// The sink of a `Reply` in a child process: one per id, shared by the
/// clones there.
struct Remote<R> {
    id: u64,
    link: Arc<dyn Link>,
    value: PhantomData<fn(R)>,
}

impl<R: Serialize> Sink<R> for Remote<R> {
    fn send(&self, value: R) -> Result<(), R> {
        match postcard::to_allocvec(&value) {
            // Past the largest the host would take the child for broken
            // after `Ok` here: the value comes back instead.
            Ok(bytes)
                if bytes.len() <= self.link.largest_answer()
                    && self.link.reply(self.id, &bytes) =>
            {
                Ok(())
            }
            _ => Err(value),
        }
    }
}

impl<R> Drop for Remote<R> {
    fn drop(&mut self) {
        self.link.release(self.id);
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Mutex;

    use super::*;
    use crate::reply;

    #[test]
    fn outside_the_process_host_a_reply_is_a_serde_error_either_way() {
        let (reply, _replies) = reply::channel::<u64>();
        let error = postcard::to_allocvec(&reply).unwrap_err();
        assert_eq!(error, postcard::Error::SerdeSerCustom);
        let error = postcard::from_bytes::<Reply<u64>>(&[5]).unwrap_err();
        assert_eq!(error, postcard::Error::SerdeDeCustom);
    }

    #[derive(Default)]
    struct Recorded(Mutex<Vec<(u64, Option<Vec<u8>>)>>);

    /// The largest answer a [`Recorded`] link takes: a `String` of 15 bytes
    /// (their length is one byte of the encoding).
    const RECORDED_LARGEST: usize = 16;

    impl Link for Recorded {
        fn largest_answer(&self) -> usize {
            RECORDED_LARGEST
        }

        fn reply(&self, id: u64, bytes: &[u8]) -> bool {
            self.0.lock().unwrap().push((id, Some(bytes.to_vec())));
            true
        }

        fn release(&self, id: u64) {
            self.0.lock().unwrap().push((id, None));
        }
    }

    #[test]
    fn an_answer_crosses_as_bytes_under_the_id_and_the_last_clone_releases_it() {
        let (reply, replies) = reply::channel::<String>();
        let (bytes, met) = serialising(|| postcard::to_allocvec(&(7_u8, &reply)).unwrap());
        drop(reply);
        let [outgoing] = <[Outgoing; 1]>::try_from(met).unwrap();

        let recorded = Arc::new(Recorded::default());
        let link: Arc<dyn Link> = recorded.clone();
        let (seven, copy): (u8, Reply<String>) =
            deserialising(&link, || postcard::from_bytes(&bytes).unwrap());
        assert_eq!(seven, 7);
        let other = copy.clone();
        copy.send("hello".to_owned()).unwrap();
        drop(copy);
        assert_eq!(recorded.0.lock().unwrap().len(), 1, "a clone is left");
        drop(other);
        let events = recorded.0.lock().unwrap().clone();
        assert_eq!(events.len(), 2);
        assert_eq!(events[1], (outgoing.id, None));
        let (id, Some(answer)) = &events[0] else {
            panic!("{events:?}")
        };
        assert_eq!(*id, outgoing.id);

        (outgoing.deliver)(answer).unwrap();
        assert_eq!(replies.try_recv().unwrap(), "hello");
        let error = (outgoing.deliver)(&[0xff]).unwrap_err();
        assert!(error.contains("alloc::string::String"), "{error}");
        drop(outgoing);
        assert!(replies.recv().is_err(), "the host's last clone is gone");
    }

    #[test]
    fn an_answer_larger_than_the_host_takes_comes_back_and_is_not_written() {
        let (reply, _replies) = reply::channel::<String>();
        let (bytes, met) = serialising(|| postcard::to_allocvec(&reply).unwrap());
        let recorded = Arc::new(Recorded::default());
        let link: Arc<dyn Link> = recorded.clone();
        let copy: Reply<String> = deserialising(&link, || postcard::from_bytes(&bytes).unwrap());

        let largest = "x".repeat(RECORDED_LARGEST - 1);
        copy.send(largest.clone()).unwrap();
        let over = "x".repeat(RECORDED_LARGEST);
        assert_eq!(copy.send(over.clone()).unwrap_err().0, over);
        let events = recorded.0.lock().unwrap().clone();
        let id = met[0].id;
        let written = postcard::to_allocvec(&largest).unwrap();
        assert_eq!(written.len(), RECORDED_LARGEST);
        assert_eq!(events, [(id, Some(written))], "only the answer that fits");
    }
}

//! Who is in a group, as the system's name service says (NSS: the files
//! `/etc/passwd` and `/etc/group`, and LDAP, SSSD or whatever else
//! `nsswitch.conf` names), for the permission check in `trust.rs` when a
//! group can write to the plugin or a directory above it. It asks the name
//! service and keeps its answers for a few seconds; it reads no file of its
//! own but two `stat`s. It holds the permission check's one `unsafe`: listing
//! every user, through a cursor the whole process shares.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use uzers::os::unix::GroupExt as _;

/// The users the name service listed at one moment, and the groups looked up
/// since.
pub(super) struct Accounts {
    /// The stamps of `/etc/passwd` and `/etc/group` when the users were
    /// listed.
    stamps: [Stamp; 2],
    /// When the users were listed.
    listed: Instant,
    /// Every user the name service lists: name, uid, primary gid.
    users: Vec<(String, u32, u32)>,
    /// The groups looked up so far, by gid: name and supplementary members,
    /// `None` for a group the name service does not know (or could not say).
    groups: Mutex<HashMap<u32, Option<Group>>>,
}

/// A group's name and supplementary members.
type Group = (String, Vec<String>);

/// What tells whether a file changed: its device, inode, size, and
/// modification and change times; `None` if it cannot be read.
type Stamp = Option<(u64, u64, u64, i64, i64, i64, i64)>;

impl Accounts {
    /// How long answers are kept. A change to `/etc/passwd` or `/etc/group`
    /// drops them at once; a change through another source (a user added to
    /// a group in LDAP) is seen within this time, well within the caches that
    /// such sources keep themselves (SSSD, nscd).
    const FRESH: Duration = Duration::from_secs(5);

    /// The accounts as the name service lists them now, or as it listed them
    /// less than [`FRESH`](Self::FRESH) ago with both files unchanged since.
    ///
    /// Kept because it costs: measured here (24 users, `passwd: files
    /// systemd`), listing the users takes 85 µs and looking up a group 4.5
    /// µs, where a warm `open` of a plugin takes 9 µs and these two `stat`s
    /// 1.6 µs. Without the cache, every open of a plugin below a
    /// group-writable directory would cost ten times as much.
    ///
    /// Tools that edit the files (`useradd`, `usermod`, `vigr`) write a new
    /// file and rename it over the old one, a new inode; an edit in place
    /// changes the times. The stamps are taken before the users are listed,
    /// so a change while they are listed is seen on the next call.
    pub(super) fn current() -> Arc<Self> {
        // Held while the users are listed: mpplugin's listings take turns.
        static LISTED: Mutex<Option<Arc<Accounts>>> = Mutex::new(None);
        let stamps = [stamp("/etc/passwd"), stamp("/etc/group")];
        let mut listed = LISTED.lock().unwrap_or_else(PoisonError::into_inner);
        match &*listed {
            Some(accounts)
                if accounts.stamps == stamps && accounts.listed.elapsed() < Self::FRESH =>
            {
                accounts.clone()
            }
            _ => {
                let accounts = Arc::new(Self::list(stamps));
                *listed = Some(accounts.clone());
                accounts
            }
        }
    }

    /// Lists every user. A name service that cannot list (an SSSD domain
    /// without `enumerate`) lists none of its users here; those named as a
    /// group's members are still found (see [`other_members`](Self::other_members)).
    fn list(stamps: [Stamp; 2]) -> Self {
        // SAFETY: `getpwent` walks a cursor that the whole process shares and
        // returns a buffer it overwrites on the next call, so no other thread
        // may walk it meanwhile. `current` holds a lock while it lists, so
        // mpplugin's own listings take turns, and `PluginLibrary::open`'s
        // safety section asks the host not to list users with
        // `getpwent` on another thread during an open. The iterator ends
        // the walk (`endpwent`) when it is dropped, here.
        let users = unsafe { uzers::all_users() }
            .map(|user| {
                let name = user.name().to_string_lossy().into_owned();
                (name, user.uid(), user.primary_group_id())
            })
            .collect();
        Self {
            stamps,
            listed: Instant::now(),
            users,
            groups: Mutex::default(),
        }
    }

    /// Group `gid`'s name and supplementary members, looked up once.
    fn group(&self, gid: u32) -> Option<Group> {
        let mut groups = self.groups.lock().unwrap_or_else(PoisonError::into_inner);
        groups
            .entry(gid)
            .or_insert_with(|| {
                let group = uzers::get_group_by_gid(gid)?;
                let members = group
                    .members()
                    .iter()
                    .map(|name| name.to_string_lossy().into_owned())
                    .collect();
                Some((group.name().to_string_lossy().into_owned(), members))
            })
            .clone()
    }

    /// Group `gid`'s name, or its number if the name service does not know
    /// it.
    pub(super) fn group_name(&self, gid: u32) -> String {
        self.group(gid)
            .map_or_else(|| gid.to_string(), |(name, _)| name)
    }

    /// The members of group `gid` other than user `owner` and root, by
    /// name: `None` if there are none, `Some(empty)` if the name service does
    /// not know the group (its members are unknown, so they count).
    pub(super) fn other_members(&self, gid: u32, owner: u32) -> Option<Vec<String>> {
        let Some((_, supplementary)) = self.group(gid) else {
            return Some(Vec::new());
        };
        let uid_of = |name: &str| {
            self.users
                .iter()
                .find(|(user, _, _)| user == name)
                .map(|(_, uid, _)| *uid)
                // A member from a source that does not list its users.
                .or_else(|| uzers::get_user_by_name(name).map(|user| user.uid()))
        };
        let mut others: Vec<String> = self
            .users
            .iter()
            .filter(|(_, _, primary)| *primary == gid)
            .map(|(name, _, _)| name.clone())
            .chain(supplementary)
            // A name the name service does not know is someone else all the
            // same.
            .filter(|name| uid_of(name).is_none_or(|uid| uid != owner && uid != 0))
            .collect();
        others.sort();
        others.dedup();
        (!others.is_empty()).then_some(others)
    }
}

fn stamp(file: &str) -> Stamp {
    use std::os::unix::fs::MetadataExt;
    std::fs::metadata(file).ok().map(|m| {
        (
            m.dev(),
            m.ino(),
            m.size(),
            m.mtime(),
            m.mtime_nsec(),
            m.ctime(),
            m.ctime_nsec(),
        )
    })
}

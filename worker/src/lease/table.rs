//! The `sandboxes` table: leases, fencing tokens and the capacity cap, one
//! SQL statement per operation so that no interleaving of workers can
//! break them.

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use sqlx::PgPool;
use uuid::Uuid;

/// States a row may be in. `closing`, `closed` and `failed` are terminal
/// for the lease: nobody acquires them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SandboxState {
    Starting,
    Ready,
    Closing,
    Closed,
    Failed,
}

impl SandboxState {
    fn parse(text: &str) -> Result<Self, LeaseError> {
        Ok(match text {
            "starting" => Self::Starting,
            "ready" => Self::Ready,
            "closing" => Self::Closing,
            "closed" => Self::Closed,
            "failed" => Self::Failed,
            other => return Err(LeaseError::Corrupt(format!("unknown state {other:?}"))),
        })
    }
}

#[derive(Debug, thiserror::Error)]
pub enum LeaseError {
    /// The fencing token moved on: someone else holds the sandbox now.
    #[error("the sandbox lease was lost to another holder")]
    Lost,
    #[error("waited {waited:?} for a sandbox without getting one")]
    WaitExceeded { waited: Duration },
    #[error("sandbox table: {0}")]
    Corrupt(String),
    #[error("sandbox table: {0}")]
    Database(#[from] sqlx::Error),
}

/// A held lease: the right to use one sandbox until it expires or is
/// released.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Lease {
    /// The row's id (not the provider's sandbox id).
    pub id: Uuid,
    pub project_id: Uuid,
    pub holder: String,
    pub token: i64,
    pub state: SandboxState,
    pub provider: String,
    pub provider_id: Option<String>,
    pub hydrated_commit: Option<String>,
    /// The manifest (as `hero.json` text) fixed at that commit's hydrate.
    pub manifest: Option<String>,
    pub expires_at: DateTime<Utc>,
}

/// Why an acquire attempt got nothing.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Busy {
    /// The project's sandbox is leased by someone else, or closing.
    Held,
    /// Every slot is taken.
    AtCapacity,
    /// A free slot was taken by a concurrent acquire a moment before; try
    /// again at once.
    Contended,
}

/// A row claimed for closing: its lease is the closer's.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Claimed {
    pub id: Uuid,
    pub project_id: Uuid,
    pub token: i64,
    pub provider: String,
    pub provider_id: Option<String>,
}

#[derive(sqlx::FromRow)]
struct LeaseRow {
    id: Uuid,
    project_id: Uuid,
    lease_holder: Option<String>,
    fencing_token: i64,
    state: String,
    provider: String,
    provider_id: Option<String>,
    hydrated_commit: Option<String>,
    manifest: Option<String>,
    lease_expires_at: Option<DateTime<Utc>>,
}

impl LeaseRow {
    fn into_lease(self) -> Result<Lease, LeaseError> {
        Ok(Lease {
            id: self.id,
            project_id: self.project_id,
            holder: self.lease_holder.unwrap_or_default(),
            token: self.fencing_token,
            state: SandboxState::parse(&self.state)?,
            provider: self.provider,
            provider_id: self.provider_id,
            hydrated_commit: self.hydrated_commit,
            manifest: self.manifest,
            expires_at: self.lease_expires_at.unwrap_or_else(Utc::now),
        })
    }
}

#[derive(sqlx::FromRow)]
struct ClaimedRow {
    id: Uuid,
    project_id: Uuid,
    fencing_token: i64,
    provider: String,
    provider_id: Option<String>,
}

impl From<ClaimedRow> for Claimed {
    fn from(row: ClaimedRow) -> Self {
        Self {
            id: row.id,
            project_id: row.project_id,
            token: row.fencing_token,
            provider: row.provider,
            provider_id: row.provider_id,
        }
    }
}

/// The lease table in Postgres, with the settings every statement needs.
#[derive(Debug, Clone)]
pub struct PgLeaseTable {
    pool: PgPool,
    max_sandboxes: i32,
    ttl_ms: i64,
}

/// A statement fenced by the lease's token changed its one row, or the
/// lease moved on.
fn fenced_row(result: &sqlx::postgres::PgQueryResult) -> Result<(), LeaseError> {
    if result.rows_affected() == 1 {
        Ok(())
    } else {
        Err(LeaseError::Lost)
    }
}

fn millis(duration: Duration) -> i64 {
    i64::try_from(duration.as_millis()).unwrap_or(i64::MAX)
}

/// The sandbox lease table: every operation a single atomic step, so that
/// no interleaving of workers can break a lease. Postgres backs it
/// ([`PgLeaseTable`]); callers hold a [`LeaseTable`].
#[async_trait]
pub trait LeaseStore: Send + Sync + std::fmt::Debug {
    /// One atomic attempt to lease the project's sandbox for `holder`: take
    /// over its live row if nobody holds it (or the lease expired), or, if
    /// it has none, create a `starting` row in a free slot. Each acquire
    /// bumps the fencing token.
    async fn try_acquire(
        &self,
        project_id: Uuid,
        provider: &str,
        holder: &str,
    ) -> Result<Result<Lease, Busy>, LeaseError>;

    /// Extends the lease; fails with `Lost` if the token moved on.
    async fn heartbeat(&self, lease: &mut Lease) -> Result<(), LeaseError>;

    /// Gives the lease back; the sandbox stays for the project's next job.
    async fn release(&self, lease: &Lease) -> Result<(), LeaseError>;

    /// Gives back a lease a batch job held: at capacity such sandboxes are
    /// the first to be closed ([`LeaseStore::claim_least_recently_used`]).
    async fn release_from_batch(&self, lease: &Lease) -> Result<(), LeaseError>;

    /// Records that the provider's sandbox exists and is usable.
    async fn mark_ready(&self, lease: &mut Lease, provider_id: &str) -> Result<(), LeaseError>;

    /// Records the commit the sandbox's repository is at, and the manifest
    /// (`hero.json` text) in force for it.
    async fn record_hydrated(
        &self,
        lease: &mut Lease,
        commit: &str,
        manifest: &str,
    ) -> Result<(), LeaseError>;

    /// Marks the sandbox dead. It keeps its slot while the provider may
    /// still have it; a sandbox never created frees its slot at once.
    async fn mark_failed(&self, lease: &Lease, error: &str) -> Result<(), LeaseError>;

    /// Records that a claimed sandbox is destroyed, freeing its slot.
    async fn mark_closed(&self, claimed: &Claimed) -> Result<(), LeaseError>;

    /// Claims the least recently used sandbox that nobody holds, to close
    /// it and free its slot; one a batch job used last goes before any
    /// other, so batches make room from their own sandboxes first.
    async fn claim_least_recently_used(&self, holder: &str) -> Result<Option<Claimed>, LeaseError>;

    /// Claims up to `limit` sandboxes idle for longer than `idle`. The
    /// idleness is checked again under each row's lock, so a sandbox that a
    /// job leased a moment ago is never taken.
    async fn claim_idle(
        &self,
        idle: Duration,
        holder: &str,
        limit: i64,
    ) -> Result<Vec<Claimed>, LeaseError>;

    /// Claims up to `limit` live sandboxes whose closing was asked for
    /// (through the API or a webhook) and that nobody holds. A held one is
    /// left to its holder and claimed on a later pass, once released; the
    /// lease is checked again under each row's lock, so a sandbox a job
    /// leased a moment ago is never taken. `starting` rows count: a
    /// creator that lost its lease kills what it made when it finds out.
    async fn claim_close_requested(
        &self,
        holder: &str,
        limit: i64,
    ) -> Result<Vec<Claimed>, LeaseError>;

    /// Claims rows that would otherwise hold a slot forever: `starting` for
    /// longer than `stuck_after` with no live lease, `closing` whose closer
    /// died, and `failed` ones still to be destroyed.
    async fn claim_stuck(
        &self,
        stuck_after: Duration,
        holder: &str,
    ) -> Result<Vec<Claimed>, LeaseError>;

    /// Provider ids of every row whose sandbox may still exist.
    async fn known_provider_ids(&self) -> Result<Vec<String>, LeaseError>;

    /// How many sandboxes hold a slot.
    async fn live_count(&self) -> Result<i64, LeaseError>;

    /// The project's live sandbox row, if any, without leasing it.
    async fn live_for_project(&self, project_id: Uuid) -> Result<Option<Lease>, LeaseError>;
}

/// A shared handle on the lease table.
pub type LeaseTable = Arc<dyn LeaseStore>;

impl PgLeaseTable {
    /// The table in `pool`, as a shared handle.
    pub fn open(pool: PgPool, max_sandboxes: u32, lease_ttl: Duration) -> LeaseTable {
        Arc::new(Self {
            pool,
            max_sandboxes: i32::try_from(max_sandboxes).unwrap_or(i32::MAX),
            ttl_ms: millis(lease_ttl),
        })
    }

    async fn give_back(&self, lease: &Lease, by_batch: bool) -> Result<(), LeaseError> {
        let result = sqlx::query(
            "UPDATE sandboxes
             SET lease_holder = NULL, lease_expires_at = NULL, last_active_at = now(),
                 last_used_by_batch = $3
             WHERE id = $1 AND fencing_token = $2",
        )
        .bind(lease.id)
        .bind(lease.token)
        .bind(by_batch)
        .execute(&self.pool)
        .await?;
        fenced_row(&result)
    }

    async fn claim(
        &self,
        condition: &str,
        holder: &str,
        millis: i64,
        limit: i64,
    ) -> Result<Vec<Claimed>, LeaseError> {
        // SKIP LOCKED: several reapers or evictors never wait on, or claim,
        // the same row; UPDATE re-checks the condition on the locked row.
        let sql = format!(
            "UPDATE sandboxes
             SET state = 'closing', lease_holder = $1, fencing_token = fencing_token + 1,
                 lease_expires_at = now() + $2 * interval '1 millisecond'
             WHERE id IN (SELECT id FROM sandboxes WHERE {condition} FOR UPDATE SKIP LOCKED)
             RETURNING id, project_id, fencing_token, provider, provider_id"
        );
        let rows: Vec<ClaimedRow> = sqlx::query_as(sqlx::AssertSqlSafe(sql))
            .bind(holder)
            .bind(self.ttl_ms)
            .bind(millis)
            .bind(limit)
            .fetch_all(&self.pool)
            .await?;
        Ok(rows.into_iter().map(Into::into).collect())
    }

    async fn fenced(
        &self,
        lease: &Lease,
        sql: &'static str,
        arg: Option<&str>,
    ) -> Result<(), LeaseError> {
        let mut query = sqlx::query(sql).bind(lease.id).bind(lease.token);
        if let Some(arg) = arg {
            query = query.bind(arg);
        }
        let result = query.execute(&self.pool).await?;
        fenced_row(&result)
    }
}

#[async_trait]
impl LeaseStore for PgLeaseTable {
    async fn try_acquire(
        &self,
        project_id: Uuid,
        provider: &str,
        holder: &str,
    ) -> Result<Result<Lease, Busy>, LeaseError> {
        let row: Option<LeaseRow> = sqlx::query_as(
            "WITH taken AS (
                 UPDATE sandboxes
                 SET lease_holder = $2,
                     fencing_token = fencing_token + 1,
                     lease_expires_at = now() + $3 * interval '1 millisecond',
                     last_active_at = now()
                 WHERE project_id = $1
                   AND state IN ('starting', 'ready')
                   AND (lease_holder IS NULL OR lease_expires_at <= now())
                 RETURNING id, project_id, lease_holder, fencing_token, state, provider,
                           provider_id, hydrated_commit, manifest, lease_expires_at
             ),
             created AS (
                 INSERT INTO sandboxes (id, project_id, provider, state, slot,
                                        lease_holder, fencing_token, lease_expires_at)
                 SELECT $4, $1, $5, 'starting', free.n,
                        $2, 1, now() + $3 * interval '1 millisecond'
                 FROM (
                     SELECT g.n FROM generate_series(0, $6 - 1) AS g(n)
                     WHERE NOT EXISTS (
                         SELECT 1 FROM sandboxes o
                         WHERE o.slot = g.n
                           AND o.state IN ('starting', 'ready', 'closing', 'failed'))
                     -- Racing creators pick different slots more often.
                     ORDER BY random()
                     LIMIT 1
                 ) AS free
                 WHERE NOT EXISTS (
                     SELECT 1 FROM sandboxes l
                     WHERE l.project_id = $1 AND l.state IN ('starting', 'ready', 'closing'))
                 ON CONFLICT DO NOTHING
                 RETURNING id, project_id, lease_holder, fencing_token, state, provider,
                           provider_id, hydrated_commit, manifest, lease_expires_at
             )
             SELECT * FROM taken UNION ALL SELECT * FROM created",
        )
        .bind(project_id)
        .bind(holder)
        .bind(self.ttl_ms)
        .bind(Uuid::now_v7())
        .bind(provider)
        .bind(self.max_sandboxes)
        .fetch_optional(&self.pool)
        .await?;

        if let Some(row) = row {
            return row.into_lease().map(Ok);
        }
        // Nothing taken or created: say why, so that a lost race for a free
        // slot is not mistaken for a full pool (which would evict a sandbox
        // for nothing).
        let (has_live, full): (bool, bool) = sqlx::query_as(
            "SELECT
                 EXISTS (SELECT 1 FROM sandboxes
                         WHERE project_id = $1 AND state IN ('starting', 'ready', 'closing')),
                 (SELECT count(*) FROM sandboxes
                  WHERE slot < $2 AND state IN ('starting', 'ready', 'closing', 'failed')) >= $2",
        )
        .bind(project_id)
        .bind(self.max_sandboxes)
        .fetch_one(&self.pool)
        .await?;
        Ok(Err(match (has_live, full) {
            (true, _) => Busy::Held,
            (false, true) => Busy::AtCapacity,
            (false, false) => Busy::Contended,
        }))
    }

    async fn heartbeat(&self, lease: &mut Lease) -> Result<(), LeaseError> {
        let expires: Option<DateTime<Utc>> = sqlx::query_scalar(
            "UPDATE sandboxes
             SET lease_expires_at = now() + $3 * interval '1 millisecond', last_active_at = now()
             WHERE id = $1 AND fencing_token = $2 AND state IN ('starting', 'ready')
             RETURNING lease_expires_at",
        )
        .bind(lease.id)
        .bind(lease.token)
        .bind(self.ttl_ms)
        .fetch_optional(&self.pool)
        .await?
        .flatten();
        lease.expires_at = expires.ok_or(LeaseError::Lost)?;
        Ok(())
    }

    async fn release(&self, lease: &Lease) -> Result<(), LeaseError> {
        self.give_back(lease, false).await
    }

    async fn release_from_batch(&self, lease: &Lease) -> Result<(), LeaseError> {
        self.give_back(lease, true).await
    }

    async fn mark_ready(&self, lease: &mut Lease, provider_id: &str) -> Result<(), LeaseError> {
        self.fenced(
            lease,
            "UPDATE sandboxes SET state = 'ready', provider_id = $3, last_active_at = now()
             WHERE id = $1 AND fencing_token = $2 AND state IN ('starting', 'ready')",
            Some(provider_id),
        )
        .await?;
        lease.state = SandboxState::Ready;
        lease.provider_id = Some(provider_id.to_owned());
        Ok(())
    }

    async fn record_hydrated(
        &self,
        lease: &mut Lease,
        commit: &str,
        manifest: &str,
    ) -> Result<(), LeaseError> {
        let result = sqlx::query(
            "UPDATE sandboxes SET hydrated_commit = $3, manifest = $4, last_active_at = now()
             WHERE id = $1 AND fencing_token = $2 AND state = 'ready'",
        )
        .bind(lease.id)
        .bind(lease.token)
        .bind(commit)
        .bind(manifest)
        .execute(&self.pool)
        .await?;
        fenced_row(&result)?;
        lease.hydrated_commit = Some(commit.to_owned());
        lease.manifest = Some(manifest.to_owned());
        Ok(())
    }

    async fn mark_failed(&self, lease: &Lease, error: &str) -> Result<(), LeaseError> {
        self.fenced(
            lease,
            "UPDATE sandboxes
             SET state = CASE WHEN provider_id IS NULL THEN 'closed' ELSE 'failed' END,
                 closed_at = CASE WHEN provider_id IS NULL THEN now() END,
                 error = $3, lease_holder = NULL, lease_expires_at = NULL
             WHERE id = $1 AND fencing_token = $2",
            Some(error),
        )
        .await
    }

    async fn mark_closed(&self, claimed: &Claimed) -> Result<(), LeaseError> {
        let result = sqlx::query(
            "UPDATE sandboxes
             SET state = 'closed', closed_at = now(), lease_holder = NULL, lease_expires_at = NULL
             WHERE id = $1 AND fencing_token = $2",
        )
        .bind(claimed.id)
        .bind(claimed.token)
        .execute(&self.pool)
        .await?;
        fenced_row(&result)
    }

    async fn claim_least_recently_used(&self, holder: &str) -> Result<Option<Claimed>, LeaseError> {
        let claimed = self
            .claim(
                "state = 'ready' AND (lease_holder IS NULL OR lease_expires_at <= now())
                 ORDER BY last_used_by_batch DESC, last_active_at LIMIT $4",
                holder,
                0,
                1,
            )
            .await?;
        Ok(claimed.into_iter().next())
    }

    async fn claim_idle(
        &self,
        idle: Duration,
        holder: &str,
        limit: i64,
    ) -> Result<Vec<Claimed>, LeaseError> {
        self.claim(
            "state = 'ready' AND (lease_holder IS NULL OR lease_expires_at <= now())
             AND last_active_at < now() - $3 * interval '1 millisecond'
             ORDER BY last_active_at LIMIT $4",
            holder,
            millis(idle),
            limit,
        )
        .await
    }

    async fn claim_close_requested(
        &self,
        holder: &str,
        limit: i64,
    ) -> Result<Vec<Claimed>, LeaseError> {
        self.claim(
            "state IN ('starting', 'ready') AND close_requested_at IS NOT NULL
             AND (lease_holder IS NULL OR lease_expires_at <= now())
             ORDER BY close_requested_at LIMIT $4",
            holder,
            0,
            limit,
        )
        .await
    }

    async fn claim_stuck(
        &self,
        stuck_after: Duration,
        holder: &str,
    ) -> Result<Vec<Claimed>, LeaseError> {
        self.claim(
            "((state = 'starting' AND created_at < now() - $3 * interval '1 millisecond')
               OR state = 'closing' OR state = 'failed')
             AND (lease_holder IS NULL OR lease_expires_at <= now())
             ORDER BY created_at LIMIT $4",
            holder,
            millis(stuck_after),
            100,
        )
        .await
    }

    async fn known_provider_ids(&self) -> Result<Vec<String>, LeaseError> {
        Ok(sqlx::query_scalar(
            "SELECT provider_id FROM sandboxes
             WHERE provider_id IS NOT NULL AND state <> 'closed'",
        )
        .fetch_all(&self.pool)
        .await?)
    }

    async fn live_count(&self) -> Result<i64, LeaseError> {
        Ok(sqlx::query_scalar(
            "SELECT count(*) FROM sandboxes
             WHERE state IN ('starting', 'ready', 'closing', 'failed')",
        )
        .fetch_one(&self.pool)
        .await?)
    }

    async fn live_for_project(&self, project_id: Uuid) -> Result<Option<Lease>, LeaseError> {
        let row: Option<LeaseRow> = sqlx::query_as(
            "SELECT id, project_id, lease_holder, fencing_token, state, provider,
                    provider_id, hydrated_commit, manifest, lease_expires_at
             FROM sandboxes
             WHERE project_id = $1 AND state IN ('starting', 'ready', 'closing')",
        )
        .bind(project_id)
        .fetch_optional(&self.pool)
        .await?;
        row.map(LeaseRow::into_lease).transpose()
    }
}

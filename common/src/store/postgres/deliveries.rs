use std::time::Duration;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use sqlx::PgPool;

use crate::domain::{Delivery, NewDelivery};
use crate::store::{DeliveryStore, StoreError, StoreResult};

pub(super) struct PgDeliveries(pub(super) PgPool);

#[derive(sqlx::FromRow)]
struct Row {
    delivery_id: String,
    received_at: DateTime<Utc>,
    finished_at: Option<DateTime<Utc>>,
    report: Option<serde_json::Value>,
}

impl From<Row> for Delivery {
    fn from(row: Row) -> Self {
        Self {
            delivery_id: row.delivery_id,
            received_at: row.received_at,
            finished_at: row.finished_at,
            report: row.report,
        }
    }
}

#[async_trait]
impl DeliveryStore for PgDeliveries {
    async fn begin(&self, delivery: NewDelivery) -> StoreResult<Delivery> {
        // The row that conflicts may be pruned between the two statements;
        // then the insert succeeds on the next round.
        for _ in 0..3 {
            // No conflict target: a known id and a known body both mean
            // "seen before".
            let inserted: Option<Row> = sqlx::query_as(
                "INSERT INTO github_deliveries (delivery_id, event, body_sha256)
                 VALUES ($1, $2, $3)
                 ON CONFLICT DO NOTHING
                 RETURNING delivery_id, received_at, finished_at, report",
            )
            .bind(&delivery.delivery_id)
            .bind(&delivery.event)
            .bind(delivery.body_sha256.as_slice())
            .fetch_optional(&self.0)
            .await?;
            if let Some(row) = inserted {
                return Ok(row.into());
            }

            let seen: Option<Row> = sqlx::query_as(
                "SELECT delivery_id, received_at, finished_at, report
                 FROM github_deliveries
                 WHERE delivery_id = $1 OR body_sha256 = $2
                 ORDER BY delivery_id = $1 DESC
                 LIMIT 1",
            )
            .bind(&delivery.delivery_id)
            .bind(delivery.body_sha256.as_slice())
            .fetch_optional(&self.0)
            .await?;
            if let Some(row) = seen {
                return Ok(row.into());
            }
        }
        Err(StoreError::Conflict(
            "the delivery's earlier record was being pruned; redeliver it".to_owned(),
        ))
    }

    async fn finish(&self, delivery_id: &str, report: serde_json::Value) -> StoreResult<()> {
        sqlx::query(
            "UPDATE github_deliveries SET finished_at = now(), report = $2
             WHERE delivery_id = $1 AND finished_at IS NULL",
        )
        .bind(delivery_id)
        .bind(report)
        .execute(&self.0)
        .await?;
        Ok(())
    }

    async fn prune(&self, age: Duration) -> StoreResult<u64> {
        let done = sqlx::query(
            "DELETE FROM github_deliveries WHERE received_at < now() - make_interval(secs => $1)",
        )
        .bind(age.as_secs_f64())
        .execute(&self.0)
        .await?;
        Ok(done.rows_affected())
    }
}

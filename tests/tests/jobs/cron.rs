use hero_common::jobs::queue::{self, QueueSettings};
use hero_worker::jobs::cron::{CronTick, push_tick};
use redis::AsyncCommands as _;

#[tokio::test]
async fn a_tick_pushed_by_every_replica_is_queued_once() {
    let settings = QueueSettings {
        prefix: format!("cron-test-{}", uuid::Uuid::new_v4().simple()),
        ..QueueSettings::default()
    };
    let config = settings.apalis_config(&settings.cron_queue_name());
    let mut redis = queue::connect("redis://127.0.0.1:6379").await.unwrap();

    for _replica in 0..3 {
        push_tick(&mut redis, &config, CronTick { at: 1_800_000_000 })
            .await
            .unwrap();
    }
    push_tick(&mut redis, &config, CronTick { at: 1_800_000_010 })
        .await
        .unwrap();

    let queued: usize = redis.hlen(config.job_data_hash()).await.unwrap();
    assert_eq!(queued, 2, "one task per tick, however many pushed it");
    let keys: Vec<String> = redis.keys(format!("{}:*", settings.prefix)).await.unwrap();
    let _: () = redis.del(keys).await.unwrap();
}

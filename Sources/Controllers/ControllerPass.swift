import Foundation
import KubeAPI

/// One pass of every controller over the objects as they are now — the informer caches each of
/// kube-controller-manager's controllers syncs from. `tandem serve` (`ControllerManager`, over the
/// store) and `tandem run` (`LocalCluster`, in memory) both run it, so the owned objects are
/// selected (by ownerReference) and the controllers ordered in one place; each caller only writes
/// the statuses back, applies the actions and schedules the requeue. Objects created by one
/// controller in a pass (a CronJob's Job) are seen by the next pass, as an informer sees them
/// after the create.
public struct ControllerPass: Sendable {
    public private(set) var cronJobs: [(cronJob: CronJob, result: CronReconciled)] = []
    public private(set) var jobs: [(job: Job, status: JobStatus)] = []
    public private(set) var deployments: [(deployment: Deployment, status: DeploymentStatus)] = []
    public private(set) var replicaSets: [(replicaSet: ReplicaSet, status: ReplicaSetStatus)] = []
    /// Every controller's client calls, in the order the controllers ran.
    public private(set) var actions: [ControllerAction] = []
    /// The earliest time any controller asked to look again (`queue.AddAfter`).
    public private(set) var requeueAfter: Duration?

    /// Objects being deleted are left alone (each controller's `DeletionTimestamp != nil` check),
    /// so a foreground deletion is not undone.
    public init(cronJobs: [CronJob], jobs: [Job], deployments: [Deployment], replicaSets: [ReplicaSet], pods: [Pod],
                now: Date, randomSuffix: () -> String) {
        for cj in cronJobs where cj.metadata.deletionTimestamp == nil {
            let result = CronJobController.reconcile(cronJob: cj, jobs: jobs.filter { $0.metadata.isOwned(by: cj.metadata.uid) }, now: now)
            self.cronJobs.append((cj, result))
            record(result.actions, result.requeueAfter)
        }
        for job in jobs where job.metadata.deletionTimestamp == nil {
            let result = JobController.reconcile(job: job, pods: pods.filter { $0.metadata.isOwned(by: job.metadata.uid) },
                                                 now: now, randomSuffix: randomSuffix)
            self.jobs.append((job, result.status))
            record(result.actions, result.requeueAfter)
        }
        for d in deployments where d.metadata.deletionTimestamp == nil {
            let rss = replicaSets.filter { $0.metadata.isOwned(by: d.metadata.uid) }
            let owned = pods.filter { p in rss.contains { p.metadata.isOwned(by: $0.metadata.uid) } }
            let result = DeploymentController.reconcile(deployment: d, replicaSets: rss, pods: owned, now: now)
            self.deployments.append((d, result.status))
            record(result.actions, result.requeueAfter)
        }
        for rs in replicaSets where rs.metadata.deletionTimestamp == nil {
            let result = ReplicaSetController.reconcile(rs: rs, pods: pods.filter { $0.metadata.isOwned(by: rs.metadata.uid) },
                                                        now: now, randomSuffix: randomSuffix)
            self.replicaSets.append((rs, result.status))
            record(result.actions, result.requeueAfter)
        }
    }

    private mutating func record(_ actions: [ControllerAction], _ requeue: Duration?) {
        self.actions += actions
        if let requeue { requeueAfter = min(requeueAfter ?? requeue, requeue) }
    }
}

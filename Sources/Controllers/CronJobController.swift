import Foundation
import KubeAPI

/// `corev1.ObjectReference` as a CronJob's `status.active` lists its running Jobs.
public struct ObjectReference: Codable, Sendable, Hashable {
    public var apiVersion: String?
    public var kind: String?
    public var namespace: String?
    public var name: String?
    public var uid: String?
    public var resourceVersion: String?

    public init(apiVersion: String? = "batch/v1", kind: String? = "Job", namespace: String?, name: String?, uid: String?, resourceVersion: String? = nil) {
        self.apiVersion = apiVersion
        self.kind = kind
        self.namespace = namespace
        self.name = name
        self.uid = uid
        self.resourceVersion = resourceVersion
    }
}

/// batch/v1 `CronJobStatus`. KubeAPI keeps a CronJob's status as untyped JSON (the API
/// server never reads it), so the controller reads and writes it through this type:
/// `CronJobStatus(cronJob.status)` and `status.json`.
public struct CronJobStatus: Codable, Sendable, Hashable {
    public var active: [ObjectReference]?
    /// RFC 3339, like every timestamp in the API types.
    public var lastScheduleTime: String?
    public var lastSuccessfulTime: String?

    public init() {}

    /// Reads the status a CronJob carries; anything unreadable is an empty status, which is
    /// what the real controller starts from for a new object.
    public init(_ json: JSONValue?) {
        self = (try? json?.decode(CronJobStatus.self)) ?? CronJobStatus()
    }

    /// The status as the CronJob stores it.
    public var json: JSONValue { (try? JSONValue(encoding: self)) ?? .object([:]) }
}

/// An event the real controller records on the CronJob (`recorder.Eventf`), for the
/// driver to log or show in `describe`.
public struct CronJobEvent: Sendable, Hashable {
    public var type: String
    public var reason: String
    public var message: String

    public init(type: String, reason: String, message: String) {
        self.type = type
        self.reason = reason
        self.message = message
    }
}

/// The result of one CronJob sync: the actions for the driver, the new status, when to sync
/// again (`queue.AddAfter`), and the events the controller recorded.
public struct CronReconciled: Sendable, Hashable {
    public var actions: [ControllerAction]
    public var status: CronJobStatus
    public var requeueAfter: Duration?
    public var events: [CronJobEvent]

    public init(actions: [ControllerAction] = [], status: CronJobStatus, requeueAfter: Duration? = nil, events: [CronJobEvent] = []) {
        self.actions = actions
        self.status = status
        self.requeueAfter = requeueAfter
        self.events = events
    }
}

/// pkg/controller/cronjob (cronjob_controllerv2.go, utils.go): creates a Job for each
/// schedule time that has come, honouring suspend, the starting deadline and the
/// concurrency policy, keeps `status.active` in step with the Jobs, and deletes finished
/// Jobs beyond the history limits.
///
/// The schedule is KubeAPI's `CronSchedule`, the same parser the API server's validation
/// uses, with robfig/cron/v3's `Next`. Time is a parameter, never read from a clock.
public enum CronJobController {
    /// `batchv1.CronJobScheduledTimestampAnnotation`.
    public static let scheduledTimestampAnnotation = "batch.kubernetes.io/cronjob-scheduled-timestamp"
    /// What `kubectl create job --from=cronjob/...` marks its Job with.
    public static let instantiateAnnotation = "cronjob.kubernetes.io/instantiate"
    /// `nextScheduleDelta`: the requeue lands 100 ms after the schedule time, so that a
    /// slightly early wake-up (clock skew) does not find the time still in the future.
    public static let nextScheduleDelta: TimeInterval = 0.1
    /// `mostRecentScheduleTime`'s cut-off: beyond this many missed times only the most
    /// recent one is considered and a warning is recorded.
    static let manyMissedLimit: Int64 = 100

    public enum ScheduleError: Error, Sendable, Hashable, CustomStringConvertible {
        /// `cron.ParseStandard` failed (robfig's message).
        case unparseable(String)
        /// `spec.timeZone` does not name a zone (`time.LoadLocation` failed).
        case unknownTimeZone(String)

        public var description: String {
            switch self {
            case .unparseable(let m): return m
            case .unknownTimeZone(let tz): return "unknown time zone \(tz)"
            }
        }
    }

    // MARK: Schedule times

    /// The parsed schedule and the zone it runs in. The real controller's `formatSchedule`
    /// prefixes `CRON_TZ=<spec.timeZone>` when a zone is set, unless the schedule already has
    /// a `TZ=`/`CRON_TZ=` prefix (then that prefix wins); without either, robfig uses
    /// `time.Local`, i.e. kube-controller-manager's local zone, here `TimeZone.current`.
    public static func schedule(_ cronJob: CronJob) throws(ScheduleError) -> (schedule: CronSchedule, zone: TimeZone) {
        let schedule: CronSchedule
        switch CronSchedule.parse(cronJob.spec.schedule) {
        case .failure(let e): throw .unparseable(e.message)
        case .success(let s): schedule = s
        }
        var zone = TimeZone.current
        if let tz = cronJob.spec.timeZone {
            guard let z = TimeZone(identifier: tz) else { throw .unknownTimeZone(tz) }
            zone = z
        }
        return (schedule, schedule.location ?? zone)
    }

    /// The schedule's next activation strictly after `after`, in the CronJob's time zone
    /// (`spec.timeZone`, else `TimeZone.current`), as robfig/cron/v3 `SpecSchedule.Next`
    /// computes it: daylight-saving gaps and repeats and short months handled as Kubernetes
    /// does. nil when no activation exists within five years (`0 0 30 2 *`).
    public static func nextScheduleTime(_ cronJob: CronJob, after: Date) throws -> Date? {
        let (schedule, zone) = try schedule(cronJob)
        return schedule.next(after: after, in: zone)
    }

    enum Missed { case none, few, many }

    struct MostRecent {
        var earliest: Date
        var mostRecent: Date?
        var missed: Missed
        var error: String?
    }

    /// utils.go `mostRecentScheduleTime`: looking from the last schedule time (or the
    /// CronJob's creation, or the starting deadline if later), the latest schedule time not
    /// after `now`, and roughly how many were missed. The count is estimated from the gap
    /// between the first two times, as the real function does, instead of enumerating
    /// possibly years of missed times.
    static func mostRecentScheduleTime(_ cronJob: CronJob, _ status: CronJobStatus, now: Date, schedule: CronSchedule, zone: TimeZone,
                                       includeStartingDeadlineSeconds: Bool) -> MostRecent {
        // Without a creationTimestamp (the driver always sets one) nothing is considered missed.
        var earliest = cronJob.metadata.creationTimestamp.flatMap(Timestamp.date) ?? now
        if let last = status.lastScheduleTime.flatMap(Timestamp.date) { earliest = last }
        if includeStartingDeadlineSeconds, let deadline = cronJob.spec.startingDeadlineSeconds {
            // The controller is not going to schedule anything below this point.
            let schedulingDeadline = now.addingTimeInterval(-TimeInterval(deadline))
            if schedulingDeadline > earliest { earliest = schedulingDeadline }
        }
        guard let t1 = schedule.next(after: earliest, in: zone) else { return MostRecent(earliest: earliest, missed: .none) }
        if now < t1 { return MostRecent(earliest: earliest, missed: .none) }
        guard let t2 = schedule.next(after: t1, in: zone), now >= t2 else {
            return MostRecent(earliest: earliest, mostRecent: t1, missed: .none)
        }
        let between = Int64(t2.timeIntervalSince(t1).rounded())
        if between < 1 {
            return MostRecent(earliest: earliest, missed: .none, error: "time difference between two schedules is less than 1 second")
        }
        let elapsed = Int64(now.timeIntervalSince(t1))
        let missedCount = elapsed / between + 1
        // Back one interval more than the estimate and let the schedule find the real times:
        // the estimate is exact for regular schedules, not for `30 6-16/4 * * 1-5`.
        let potentialEarliest = t1.addingTimeInterval(TimeInterval((missedCount - 2) * between))
        var mostRecent: Date?
        var t = schedule.next(after: potentialEarliest, in: zone)
        while let candidate = t, candidate <= now {
            mostRecent = candidate
            t = schedule.next(after: candidate, in: zone)
        }
        let missed: Missed = missedCount > manyMissedLimit ? .many : (missedCount > 0 ? .few : .none)
        return MostRecent(earliest: earliest, mostRecent: mostRecent, missed: missed)
    }

    /// utils.go `nextScheduleTimeDuration`: how long until the schedule time after the most
    /// recent one (starting deadline not applied), plus `nextScheduleDelta`.
    static func nextScheduleTimeDuration(_ cronJob: CronJob, _ status: CronJobStatus, now: Date, schedule: CronSchedule, zone: TimeZone) -> Duration? {
        let r = mostRecentScheduleTime(cronJob, status, now: now, schedule: schedule, zone: zone, includeStartingDeadlineSeconds: false)
        let from: Date
        if r.error != nil {
            // Still requeue at some point: aim for the next slot from now.
            from = now
        } else if let mostRecent = r.mostRecent {
            from = mostRecent
        } else {
            from = r.missed == .none ? r.earliest : now
        }
        guard let next = schedule.next(after: from, in: zone) else { return nil }
        let seconds = next.timeIntervalSince(now) + nextScheduleDelta
        return .milliseconds(Int64((seconds * 1000).rounded()))
    }

    // MARK: Reconcile

    /// One pass of the controller's `sync`: `cleanupFinishedJobs`, then `syncCronJob`, on the
    /// CronJob and the Jobs in its namespace (those whose controller reference names it are
    /// used, as `getJobsToBeReconciled` does). Jobs are created with `.createJob` and
    /// deleted with `.deleteJob` (the driver removes their pods, as the garbage collector's
    /// background deletion does).
    ///
    /// A Job that is created here has no uid yet; its `status.active` reference is matched by
    /// namespace and name until the Job is seen with a uid, which is then recorded.
    public static func reconcile(cronJob: CronJob, jobs: [Job], now: Date) -> CronReconciled {
        var sync = Sync(cronJob: cronJob, now: now)
        let namespace = sync.namespace
        let owned = jobs.filter { job in
            (job.metadata.namespace ?? "default") == namespace
                && job.metadata.ownerReferences?.contains { $0.controller == true && $0.name == sync.name } == true
        }
        sync.cleanupFinishedJobs(owned)
        sync.syncCronJob(owned)
        return CronReconciled(actions: sync.actions, status: sync.status, requeueAfter: sync.requeueAfter, events: sync.events)
    }

    struct Sync {
        let cronJob: CronJob
        let now: Date
        let name: String
        let namespace: String
        var status: CronJobStatus
        var actions: [ControllerAction] = []
        var events: [CronJobEvent] = []
        var requeueAfter: Duration?

        init(cronJob: CronJob, now: Date) {
            self.cronJob = cronJob
            self.now = now
            name = cronJob.metadata.name ?? ""
            namespace = cronJob.metadata.namespace ?? "default"
            status = CronJobStatus(cronJob.status)
        }

        mutating func event(_ reason: String, _ message: String, warning: Bool = false) {
            events.append(CronJobEvent(type: warning ? "Warning" : "Normal", reason: reason, message: message))
        }

        var active: [ObjectReference] {
            get { status.active ?? [] }
            set { status.active = newValue.isEmpty ? nil : newValue }
        }

        /// `inActiveList`: by uid, or by namespace and name for a reference made before the
        /// Job had one.
        func activeIndex(_ job: Job) -> Int? {
            active.firstIndex { ref in
                if let uid = ref.uid, let jobUID = job.metadata.uid { return uid == jobUID }
                return ref.name == job.metadata.name && (ref.namespace ?? "default") == (job.metadata.namespace ?? "default")
            }
        }

        mutating func deleteJob(_ namespace: String, _ jobName: String, uid: String?) {
            actions.append(.deleteJob(namespace: namespace, name: jobName))
            active.removeAll { ref in
                if let uid, let refUID = ref.uid { return uid == refUID }
                return ref.name == jobName
            }
            event("SuccessfulDelete", "Deleted job \(jobName)")
        }

        /// `cleanupFinishedJobs` / `removeOldestJobs`: finished Jobs beyond the history
        /// limits go, oldest `status.startTime` first (Jobs without one count as newest, ties
        /// by name: `byJobStartTime`). The API server defaults the limits to 3 and 1; an
        /// object that skipped defaulting gets the same.
        mutating func cleanupFinishedJobs(_ jobs: [Job]) {
            let successful = jobs.filter { CronJobController.finishedCondition($0) == "Complete" }
            let failed = jobs.filter { CronJobController.finishedCondition($0) == "Failed" }
            removeOldest(successful, limit: Int(cronJob.spec.successfulJobsHistoryLimit ?? 3))
            removeOldest(failed, limit: Int(cronJob.spec.failedJobsHistoryLimit ?? 1))
        }

        mutating func removeOldest(_ jobs: [Job], limit: Int) {
            let excess = jobs.count - limit
            guard excess > 0 else { return }
            let sorted = jobs.sorted { a, b in
                let sa = a.status?.startTime.flatMap(Timestamp.date), sb = b.status?.startTime.flatMap(Timestamp.date)
                switch (sa, sb) {
                case (nil, .some): return false
                case (.some, nil): return true
                case let (x?, y?) where x != y: return x < y
                default: return (a.metadata.name ?? "") < (b.metadata.name ?? "")
                }
            }
            for job in sorted.prefix(excess) {
                deleteJob(job.metadata.namespace ?? namespace, job.metadata.name ?? "", uid: job.metadata.uid)
            }
        }

        /// `syncCronJob`.
        mutating func syncCronJob(_ jobs: [Job]) {
            for job in jobs {
                let jobName = job.metadata.name ?? ""
                let index = activeIndex(job)
                let finished = CronJobController.finishedCondition(job)
                if index == nil && finished == nil {
                    // Not adopted, as in the real controller: a Job it did not create (or
                    // created but lost track of) only gets an event.
                    event("UnexpectedJob", "Saw a job that the controller did not create or forgot: \(jobName)", warning: true)
                } else if let finished {
                    if let index {
                        active.remove(at: index)
                        event("SawCompletedJob", "Saw completed job: \(jobName), condition: \(finished)")
                    }
                    if finished == "Complete" {
                        // Need not be in the active list: any succeeded Job moves the time on.
                        if let done = job.status?.completionTime, let doneDate = Timestamp.date(done) {
                            if let last = status.lastSuccessfulTime.flatMap(Timestamp.date), last >= doneDate {} else {
                                status.lastSuccessfulTime = done
                            }
                        }
                    }
                } else if let index, active[index].uid == nil, let uid = job.metadata.uid {
                    active[index].uid = uid
                }
            }
            // Active references whose Job is gone ("MissingJob").
            for ref in active where !jobs.contains(where: { job in
                if let uid = ref.uid, let jobUID = job.metadata.uid { return uid == jobUID }
                return job.metadata.name == ref.name
            }) {
                event("MissingJob", "Active job went missing: \(ref.name ?? "")")
                active.removeAll { $0 == ref }
            }

            // Being deleted: nothing but the status.
            if cronJob.metadata.deletionTimestamp != nil { return }

            if let tz = cronJob.spec.timeZone, TimeZone(identifier: tz) == nil {
                event("UnknownTimeZone", "invalid timeZone: \(GoSyntax.quote(tz)): unknown time zone \(tz)", warning: true)
                return
            }
            if cronJob.spec.suspend == true { return }

            let schedule: CronSchedule, zone: TimeZone
            do {
                (schedule, zone) = try CronJobController.schedule(cronJob)
            } catch {
                event("UnparseableSchedule", "unparseable schedule: \(GoSyntax.quote(cronJob.spec.schedule)) : \(error)", warning: true)
                return
            }

            // `nextScheduleTime`.
            let recent = CronJobController.mostRecentScheduleTime(cronJob, status, now: now, schedule: schedule, zone: zone, includeStartingDeadlineSeconds: true)
            if let error = recent.error {
                event("InvalidSchedule", "invalid schedule: \(cronJob.spec.schedule) : \(error)", warning: true)
                return
            }
            func requeue(_ status: CronJobStatus) -> Duration? {
                CronJobController.nextScheduleTimeDuration(cronJob, status, now: now, schedule: schedule, zone: zone)
            }
            guard let scheduledTime = recent.mostRecent, scheduledTime <= now else {
                requeueAfter = requeue(status)
                return
            }
            if recent.missed == .many {
                event("TooManyMissedTimes", "too many missed start times. Set or decrease .spec.startingDeadlineSeconds or check clock skew", warning: true)
            }

            if let deadline = cronJob.spec.startingDeadlineSeconds, scheduledTime.addingTimeInterval(TimeInterval(deadline)) < now {
                event("MissSchedule", "Missed scheduled time to start a job: \(GoTime.rfc1123Z(scheduledTime))", warning: true)
                requeueAfter = requeue(status)
                return
            }
            let jobName = CronJobController.jobName(name, scheduledTime)
            if active.contains(where: { $0.name == jobName && ($0.namespace ?? "default") == namespace })
                || status.lastScheduleTime.flatMap(Timestamp.date) == scheduledTime {
                // Already processed.
                requeueAfter = requeue(status)
                return
            }
            if cronJob.spec.concurrencyPolicy == "Forbid" && !active.isEmpty {
                // Not started; the same time is found again at the next sync and started then
                // if still within the starting deadline.
                event("JobAlreadyActive", "Not starting job because prior execution is running and concurrency policy is Forbid")
                requeueAfter = requeue(status)
                return
            }
            if cronJob.spec.concurrencyPolicy == "Replace" {
                for ref in active {
                    deleteJob(ref.namespace ?? namespace, ref.name ?? "", uid: ref.uid)
                }
            }
            let job = CronJobController.jobFromTemplate(cronJob, scheduledTime: scheduledTime)
            if let existing = jobs.first(where: { $0.metadata.name == jobName }) {
                // `IsAlreadyExists`: a Job made earlier whose creation was not recorded in the
                // status is put back on the active list; one already there is left alone.
                if activeIndex(existing) == nil {
                    active.append(ObjectReference(namespace: namespace, name: jobName, uid: existing.metadata.uid))
                    status.lastScheduleTime = Timestamp.string(scheduledTime)
                    requeueAfter = requeue(status)
                }
                return
            }
            actions.append(.createJob(job))
            event("SuccessfulCreate", "Created job \(jobName)")
            active.append(ObjectReference(namespace: namespace, name: jobName, uid: nil))
            status.lastScheduleTime = Timestamp.string(scheduledTime)
            requeueAfter = requeue(status)
        }
    }

    // MARK: Jobs

    /// `getJobName`: the CronJob's name and the scheduled time in minutes since the epoch
    /// (`getTimeHashInMinutes`), so that one schedule time can only ever make one Job.
    public static func jobName(_ cronJobName: String, _ scheduledTime: Date) -> String {
        "\(cronJobName)-\(Int64((scheduledTime.timeIntervalSince1970).rounded(.down)) / 60)"
    }

    /// `FinishedCondition`: "Complete" or "Failed" when the Job has that condition True.
    static func finishedCondition(_ job: Job) -> String? {
        job.status?.conditions?.first { ($0.type == "Complete" || $0.type == "Failed") && $0.status == "True" }?.type
    }

    /// `getJobFromTemplate2`: labels and annotations from `jobTemplate.metadata`, the
    /// scheduled time as an RFC 3339 annotation in the CronJob's `spec.timeZone`
    /// (`time.LoadLocation("")` is UTC, so without a zone the annotation is in UTC),
    /// creationTimestamp the scheduled time (the API server overwrites it), and a controller
    /// reference to the CronJob.
    static func jobFromTemplate(_ cronJob: CronJob, scheduledTime: Date) -> Job {
        let name = jobName(cronJob.metadata.name ?? "", scheduledTime)
        var annotations = cronJob.spec.jobTemplate.metadata?.annotations ?? [:]
        let zone = cronJob.spec.timeZone.flatMap { TimeZone(identifier: $0) } ?? TimeZone(identifier: "UTC")!
        annotations[scheduledTimestampAnnotation] = GoTime.rfc3339(scheduledTime, in: zone)
        var meta = ObjectMeta(name: name, namespace: cronJob.metadata.namespace ?? "default", labels: cronJob.spec.jobTemplate.metadata?.labels ?? [:])
        meta.annotations = annotations
        meta.creationTimestamp = Timestamp.string(scheduledTime)
        meta.ownerReferences = [OwnerReference(apiVersion: "batch/v1", kind: "CronJob", name: cronJob.metadata.name ?? "", uid: cronJob.metadata.uid ?? "",
                                               controller: true, blockOwnerDeletion: true)]
        return makeJob(meta: meta, spec: cronJob.spec.jobTemplate.spec)
    }

    /// `kubectl create job NAME --from=cronjob/CJ` (kubectl's `createJobFromCronJob`): the
    /// template's spec, labels and annotations plus `cronjob.kubernetes.io/instantiate:
    /// manual`, owned by the CronJob as its controller but without `blockOwnerDeletion`
    /// (kubectl leaves it unset so that no extra RBAC on cronjobs/finalizers is needed). The
    /// controller sees the Job but does not add it to `status.active` ("UnexpectedJob"), and
    /// its history limits apply to it once it finishes. `now` is its creationTimestamp.
    public static func jobFromCronJob(_ cronJob: CronJob, name: String, now: Date) -> Job {
        var annotations = [instantiateAnnotation: "manual"]
        for (k, v) in cronJob.spec.jobTemplate.metadata?.annotations ?? [:] { annotations[k] = v }
        var meta = ObjectMeta(name: name, namespace: cronJob.metadata.namespace ?? "default", labels: cronJob.spec.jobTemplate.metadata?.labels)
        meta.annotations = annotations
        meta.creationTimestamp = Timestamp.string(now)
        meta.ownerReferences = [OwnerReference(apiVersion: "batch/v1", kind: "CronJob", name: cronJob.metadata.name ?? "", uid: cronJob.metadata.uid ?? "",
                                               controller: true, blockOwnerDeletion: nil)]
        return makeJob(meta: meta, spec: cronJob.spec.jobTemplate.spec)
    }

    /// The KubeAPI types have no public memberwise initialisers; the Job is assembled as
    /// JSON and decoded, as `DeploymentController.makeReplicaSet` does.
    static func makeJob(meta: ObjectMeta, spec: JobSpec) -> Job {
        do {
            let object: JSONValue = .object([
                "apiVersion": .string("batch/v1"), "kind": .string("Job"),
                "metadata": try JSONValue(encoding: meta), "spec": try JSONValue(encoding: spec),
            ])
            return try object.decode(Job.self)
        } catch {
            preconditionFailure("Job round trip failed: \(error)")
        }
    }
}

/// Go's time formats that the controller's annotation and events use.
enum GoTime {
    static func fields(_ date: Date, _ zone: TimeZone) -> (y: Int, mo: Int, d: Int, h: Int, mi: Int, s: Int, wd: Int, offset: Int) {
        var cal = Calendar(identifier: .gregorian)
        cal.timeZone = zone
        let c = cal.dateComponents([.year, .month, .day, .hour, .minute, .second, .weekday], from: date)
        return (c.year!, c.month!, c.day!, c.hour!, c.minute!, c.second!, c.weekday! - 1, zone.secondsFromGMT(for: date))
    }

    /// `time.RFC3339` ("2006-01-02T15:04:05Z07:00"): "Z" for a zero offset, else ±hh:mm.
    static func rfc3339(_ date: Date, in zone: TimeZone) -> String {
        let f = fields(date, zone)
        let off = f.offset == 0 ? "Z" : (f.offset < 0 ? "-" : "+") + String(format: "%02d:%02d", abs(f.offset) / 3600, abs(f.offset) / 60 % 60)
        return String(format: "%04d-%02d-%02dT%02d:%02d:%02d", f.y, f.mo, f.d, f.h, f.mi, f.s) + off
    }

    /// `time.RFC1123Z` ("Mon, 02 Jan 2006 15:04:05 -0700") in UTC.
    static func rfc1123Z(_ date: Date) -> String {
        let f = fields(date, TimeZone(identifier: "UTC")!)
        let days = ["Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"]
        let months = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"]
        return days[f.wd] + String(format: ", %02d ", f.d) + months[f.mo - 1] + String(format: " %04d %02d:%02d:%02d +0000", f.y, f.h, f.mi, f.s)
    }
}

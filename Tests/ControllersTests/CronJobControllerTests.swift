import Foundation
import Testing
import KubeAPI
@testable import Controllers

extension CronReconciled {
    var createdJobs: [Job] { actions.compactMap { if case .createJob(let j) = $0 { return j } else { return nil } } }
    var deletedJobs: [String] { actions.compactMap { if case .deleteJob(_, let n) = $0 { return n } else { return nil } } }
    var reasons: [String] { events.map(\.reason) }
}

extension Job {
    func finished(_ type: String, started: String, at done: String) -> Job {
        var j = self
        var s = JobStatus()
        s.startTime = started
        s.conditions = [Condition(type: type, status: "True", lastTransitionTime: done)]
        if type == "Complete" { s.completionTime = done }
        j.status = s
        return j
    }
}

/// The driver's side in miniature: created Jobs get a uid (as the API server gives them),
/// deleted ones vanish, and the CronJob keeps the status the controller returned.
struct CronWorld {
    var cronJob: CronJob
    var jobs: [Job] = []
    var uids = 0

    @discardableResult
    mutating func sync(_ now: String) -> CronReconciled {
        let r = CronJobController.reconcile(cronJob: cronJob, jobs: jobs, now: utc(now))
        for a in r.actions {
            switch a {
            case .createJob(var j):
                uids += 1
                JobController.prepare(job: &j, uid: "job-uid-\(uids)")
                jobs.append(j)
            case .deleteJob(_, let name): jobs.removeAll { $0.metadata.name == name }
            default: break
            }
        }
        cronJob.status = r.status.json
        return r
    }

    mutating func finish(_ name: String, _ type: String = "Complete", started: String, at done: String) {
        if let i = jobs.firstIndex(where: { $0.metadata.name == name }) { jobs[i] = jobs[i].finished(type, started: started, at: done) }
    }

    var activeNames: [String] { (CronJobStatus(cronJob.status).active ?? []).compactMap(\.name) }
}

/// `getJobName`: minutes since the epoch of the schedule time.
func cronJobName(_ time: String) -> String { "cj-\(Int(utc(time).timeIntervalSince1970) / 60)" }

@Suite struct CronJobControllerTests {
    @Test func waitsForTheFirstScheduleTime() {
        // Created at 00:00:30: the first time is 00:05, looked for from the creation time.
        var world = CronWorld(cronJob: cronJob("*/5 * * * *"))
        let r = world.sync("2024-01-01T00:03:00Z")
        #expect(r.actions.isEmpty)
        #expect(r.requeueAfter == .milliseconds(120_100))
        #expect(r.status == CronJobStatus())
    }

    @Test func firstRunCreatesTheJob() throws {
        var world = CronWorld(cronJob: cronJob("*/5 * * * *"))
        let r = world.sync("2024-01-01T00:05:02Z")
        let job = try #require(r.createdJobs.first)
        #expect(r.createdJobs.count == 1)
        #expect(job.metadata.name == "cj-28401125")
        #expect(job.metadata.name == cronJobName("2024-01-01T00:05:00Z"))
        #expect(job.metadata.namespace == "default")
        #expect(job.metadata.labels == ["app": "report"])
        #expect(job.metadata.annotations == ["team": "ops", "batch.kubernetes.io/cronjob-scheduled-timestamp": "2024-01-01T00:05:00Z"])
        #expect(job.metadata.creationTimestamp == "2024-01-01T00:05:00Z")
        let owner = try #require(job.metadata.ownerReferences?.first)
        #expect(owner == OwnerReference(apiVersion: "batch/v1", kind: "CronJob", name: "cj", uid: "cj-uid", controller: true, blockOwnerDeletion: true))
        #expect(job.spec == world.cronJob.spec.jobTemplate.spec)
        #expect(r.status.active == [ObjectReference(namespace: "default", name: "cj-28401125", uid: nil)])
        #expect(r.status.lastScheduleTime == "2024-01-01T00:05:00Z")
        #expect(r.reasons == ["SuccessfulCreate"])
        #expect(r.events.first?.message == "Created job cj-28401125")
        // Next time 00:10, plus nextScheduleDelta.
        #expect(r.requeueAfter == .milliseconds(298_100))

        // The same time is not made twice; the active reference learns the Job's uid.
        let again = world.sync("2024-01-01T00:05:30Z")
        #expect(again.actions.isEmpty)
        #expect(again.status.active?.first?.uid == "job-uid-1")
    }

    @Test func scheduledTimestampIsInTheCronJobsZone() throws {
        var world = CronWorld(cronJob: cronJob("0 * * * *", timeZone: "America/New_York"))
        let job = try #require(world.sync("2024-01-01T01:00:05Z").createdJobs.first)
        #expect(job.metadata.annotations?["batch.kubernetes.io/cronjob-scheduled-timestamp"] == "2023-12-31T20:00:00-05:00")
        #expect(job.metadata.name == cronJobName("2024-01-01T01:00:00Z"))
    }

    @Test func forbidSkipsWhileAJobRuns() {
        var world = CronWorld(cronJob: cronJob("*/5 * * * *", concurrencyPolicy: "Forbid"))
        world.sync("2024-01-01T00:05:01Z")
        let r = world.sync("2024-01-01T00:10:01Z")
        #expect(r.actions.isEmpty)
        #expect(r.reasons == ["JobAlreadyActive"])
        #expect(r.status.lastScheduleTime == "2024-01-01T00:05:00Z")
        #expect(r.requeueAfter == .milliseconds(299_100))
        // Once it finishes, the 00:10 run (still unmet, no deadline) starts late.
        world.finish(cronJobName("2024-01-01T00:05:00Z"), started: "2024-01-01T00:05:01Z", at: "2024-01-01T00:11:00Z")
        let late = world.sync("2024-01-01T00:11:01Z")
        #expect(late.createdJobs.map { $0.metadata.name } == [cronJobName("2024-01-01T00:10:00Z")])
        #expect(late.reasons == ["SawCompletedJob", "SuccessfulCreate"])
        #expect(late.status.lastSuccessfulTime == "2024-01-01T00:11:00Z")
        #expect(world.activeNames == [cronJobName("2024-01-01T00:10:00Z")])
    }

    @Test func replaceDeletesThenCreates() {
        var world = CronWorld(cronJob: cronJob("*/5 * * * *", concurrencyPolicy: "Replace"))
        world.sync("2024-01-01T00:05:01Z")
        let r = world.sync("2024-01-01T00:10:01Z")
        #expect(r.actions.count == 2)
        #expect(r.actions.first == .deleteJob(namespace: "default", name: cronJobName("2024-01-01T00:05:00Z")))
        #expect(r.createdJobs.map { $0.metadata.name } == [cronJobName("2024-01-01T00:10:00Z")])
        #expect(r.reasons == ["SuccessfulDelete", "SuccessfulCreate"])
        #expect(world.activeNames == [cronJobName("2024-01-01T00:10:00Z")])
        #expect(world.jobs.map { $0.metadata.name } == [cronJobName("2024-01-01T00:10:00Z")])
    }

    @Test func allowRunsConcurrently() {
        var world = CronWorld(cronJob: cronJob("*/5 * * * *"))
        world.sync("2024-01-01T00:05:01Z")
        let r = world.sync("2024-01-01T00:10:01Z")
        #expect(r.deletedJobs.isEmpty)
        #expect(r.createdJobs.count == 1)
        #expect(world.activeNames == [cronJobName("2024-01-01T00:05:00Z"), cronJobName("2024-01-01T00:10:00Z")])
    }

    @Test func suspendedCreatesNothing() {
        var world = CronWorld(cronJob: cronJob("*/5 * * * *", suspend: true))
        let r = world.sync("2024-01-01T00:05:01Z")
        #expect(r.actions.isEmpty)
        #expect(r.requeueAfter == nil)
        // Unsuspended, the missed 00:05 time is run (no deadline).
        world.cronJob.spec.suspend = false
        #expect(world.sync("2024-01-01T00:07:00Z").createdJobs.map { $0.metadata.name } == [cronJobName("2024-01-01T00:05:00Z")])
    }

    @Test func startingDeadlineSkipsLateStarts() {
        var world = CronWorld(cronJob: cronJob("*/5 * * * *", startingDeadlineSeconds: 60))
        // 00:05 was missed by more than 60 s: nothing starts, wait for 00:10.
        let late = world.sync("2024-01-01T00:06:30Z")
        #expect(late.actions.isEmpty)
        #expect(late.status.lastScheduleTime == nil)
        #expect(late.requeueAfter == .milliseconds(210_100))
        // Within the deadline it starts.
        let onTime = world.sync("2024-01-01T00:10:45Z")
        #expect(onTime.createdJobs.map { $0.metadata.name } == [cronJobName("2024-01-01T00:10:00Z")])
    }

    @Test func tooManyMissedTimesWarnsAndRunsTheLatest() {
        // A day of minutely runs missed: only the most recent one is started.
        var world = CronWorld(cronJob: cronJob("* * * * *"))
        let r = world.sync("2024-01-02T00:00:30Z")
        #expect(r.reasons == ["TooManyMissedTimes", "SuccessfulCreate"])
        #expect(r.events.first?.message == "too many missed start times. Set or decrease .spec.startingDeadlineSeconds or check clock skew")
        #expect(r.events.first?.type == "Warning")
        #expect(r.createdJobs.map { $0.metadata.name } == [cronJobName("2024-01-02T00:00:00Z")])
    }

    @Test func historyLimitsDeleteTheOldestFinishedJobs() {
        var world = CronWorld(cronJob: cronJob("* * * * *", created: "2024-01-01T00:00:00Z", successfulLimit: 2, failedLimit: 1))
        var minute = 1
        func stamp(_ m: Int, _ s: Int = 0) -> String { String(format: "2024-01-01T00:%02d:%02dZ", m, s) }
        // Five runs: 1, 2 and 4 succeed, 3 and 5 fail.
        for outcome in ["Complete", "Complete", "Failed", "Complete", "Failed"] {
            world.sync(stamp(minute, 1))
            world.finish(cronJobName(stamp(minute)), outcome, started: stamp(minute, 2), at: stamp(minute, 30))
            minute += 1
        }
        // One more sync trims the failed Jobs too: 1 and 3 are gone.
        world.sync(stamp(minute, 1))
        let names = Set(world.jobs.map { $0.metadata.name ?? "" })
        #expect(names == [cronJobName(stamp(2)), cronJobName(stamp(4)), cronJobName(stamp(5)), cronJobName(stamp(6))])
        #expect(CronJobStatus(world.cronJob.status).lastSuccessfulTime == stamp(4, 30))
    }

    @Test func historyCleanupOrderAndStartTimes() {
        var world = CronWorld(cronJob: cronJob("@hourly", successfulLimit: 1, failedLimit: 0))
        let template = CronJobController.jobFromCronJob(world.cronJob, name: "x", now: utc("2024-01-01T00:00:00Z"))
        func job(_ name: String, _ type: String, started: String?) -> Job {
            var j = template
            j.metadata.name = name
            j = j.finished(type, started: started ?? "", at: "2024-01-01T00:30:00Z")
            if started == nil { j.status?.startTime = nil }
            return j
        }
        world.jobs = [job("new", "Complete", started: "2024-01-01T00:20:00Z"), job("nostart", "Complete", started: nil),
                      job("old", "Complete", started: "2024-01-01T00:10:00Z"), job("f", "Failed", started: "2024-01-01T00:15:00Z")]
        let r = world.sync("2024-01-01T00:40:00Z")
        // byJobStartTime: oldest first, no start time last; successful before failed.
        #expect(r.deletedJobs == ["old", "new", "f"])
        #expect(world.jobs.map { $0.metadata.name } == ["nostart"])
    }

    @Test func lastSuccessfulTimeIsTheLatestCompletion() {
        var world = CronWorld(cronJob: cronJob("*/5 * * * *", successfulLimit: 10))
        world.sync("2024-01-01T00:05:01Z")
        world.sync("2024-01-01T00:10:01Z")
        world.finish(cronJobName("2024-01-01T00:10:00Z"), started: "2024-01-01T00:10:02Z", at: "2024-01-01T00:12:00Z")
        var r = world.sync("2024-01-01T00:12:01Z")
        #expect(r.status.lastSuccessfulTime == "2024-01-01T00:12:00Z")
        #expect(r.reasons == ["SawCompletedJob"])
        #expect(r.events.first?.message == "Saw completed job: \(cronJobName("2024-01-01T00:10:00Z")), condition: Complete")
        // An earlier completion does not move it back; a failure does not count.
        world.finish(cronJobName("2024-01-01T00:05:00Z"), started: "2024-01-01T00:05:02Z", at: "2024-01-01T00:11:00Z")
        r = world.sync("2024-01-01T00:13:00Z")
        #expect(r.status.lastSuccessfulTime == "2024-01-01T00:12:00Z")
        #expect(r.status.active == nil)
        world.sync("2024-01-01T00:15:01Z")
        world.finish(cronJobName("2024-01-01T00:15:00Z"), "Failed", started: "2024-01-01T00:15:02Z", at: "2024-01-01T00:16:00Z")
        r = world.sync("2024-01-01T00:16:01Z")
        #expect(r.status.lastSuccessfulTime == "2024-01-01T00:12:00Z")
        #expect(r.status.active == nil)
    }

    @Test func missingActiveJobIsDropped() {
        var world = CronWorld(cronJob: cronJob("*/5 * * * *"))
        world.sync("2024-01-01T00:05:01Z")
        world.jobs = []
        let r = world.sync("2024-01-01T00:06:00Z")
        #expect(r.reasons == ["MissingJob"])
        #expect(r.status.active == nil)
        #expect(r.actions.isEmpty, "00:05 is recorded in lastScheduleTime and not run again")
    }

    @Test func manualJobFromCronJob() throws {
        let cj = cronJob("*/5 * * * *")
        let job = CronJobController.jobFromCronJob(cj, name: "cj-manual-1", now: utc("2024-01-01T00:02:00Z"))
        #expect(job.metadata.name == "cj-manual-1")
        #expect(job.metadata.namespace == "default")
        #expect(job.metadata.annotations == ["cronjob.kubernetes.io/instantiate": "manual", "team": "ops"])
        #expect(job.metadata.labels == ["app": "report"])
        #expect(job.metadata.creationTimestamp == "2024-01-01T00:02:00Z")
        #expect(job.metadata.ownerReferences == [OwnerReference(apiVersion: "batch/v1", kind: "CronJob", name: "cj", uid: "cj-uid", controller: true, blockOwnerDeletion: nil)])
        #expect(job.spec == cj.spec.jobTemplate.spec)
        #expect(job.kind == "Job" && job.apiVersion == "batch/v1")

        // The controller sees it but does not adopt it into status.active.
        var world = CronWorld(cronJob: cj)
        var manual = job
        JobController.prepare(job: &manual, uid: "manual-uid")
        world.jobs = [manual]
        let r = world.sync("2024-01-01T00:03:00Z")
        #expect(r.reasons == ["UnexpectedJob"])
        #expect(r.status.active == nil)
        #expect(r.actions.isEmpty)
    }

    @Test func statusRoundTripsThroughJSON() {
        var s = CronJobStatus()
        s.active = [ObjectReference(namespace: "default", name: "cj-1", uid: "u")]
        s.lastScheduleTime = "2024-01-01T00:05:00Z"
        #expect(CronJobStatus(s.json) == s)
        #expect(s.json["lastScheduleTime"]?.stringValue == "2024-01-01T00:05:00Z")
        #expect(CronJobStatus(nil) == CronJobStatus())
    }

    @Test func unknownTimeZoneCreatesNothing() {
        var world = CronWorld(cronJob: cronJob("*/5 * * * *", timeZone: "Mars/Olympus"))
        let r = world.sync("2024-01-01T00:05:01Z")
        #expect(r.actions.isEmpty)
        #expect(r.reasons == ["UnknownTimeZone"])
        #expect(r.requeueAfter == nil)
    }
}

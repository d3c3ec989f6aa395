// Recovery at start: a release that was running when the previous control plane stopped is recorded
// as interrupted. Its deploys did not survive it: the deploy supervisor stops every process group when
// its channel to the control plane closes, and the new control plane starts only once that supervisor
// has exited (drivers/supervisor-client.ts), so a new release never overlaps an orphan of the old one.
import type {ReleaseRecord, Store} from '../../store/store.js'

export const RECOVERY_LOG_LINE = 'the control plane stopped while this task ran; its processes were stopped by the supervisor'

export async function recoverInterrupted(store: Store, release: ReleaseRecord, now: string): Promise<void> {
  await store.transaction(async (tx) => {
    for (const task of await tx.listTasks(release.id)) {
      if (task.status === 'running') {
        await tx.updateTask(task.id, {status: 'interrupted', finishedAt: now, error: 'the control plane stopped while this task ran'})
        await tx.appendLogs([{releaseId: release.id, taskId: task.id, resource: task.resource ?? task.hook, target: task.target, stream: 'system', line: RECOVERY_LOG_LINE, at: now}])
        if (task.resource) await tx.updateApp(release.project, release.environment, task.resource, {health: 'Unknown'}, now)
      } else if (task.status === 'pending') {
        await tx.updateTask(task.id, {status: 'cancelled', finishedAt: now, error: 'not started: the control plane stopped'})
      }
    }
    await tx.transitionRelease(release.id, ['running'], 'failed', {
      finishedAt: now,
      error: 'interrupted: the control plane stopped while it ran; trigger it again',
    })
  })
}

/** Progress for logs and pipes: one plain line per event, as it comes. */
import type { JobEventMessage } from '../job-events';
import { eventLine, StepClock, type JobView } from './lines';

export interface Progress {
  onEvent(e: JobEventMessage): void;
  /** Stops rendering, after the final event or when following failed. */
  end(): Promise<void>;
}

export class PlainProgress implements Progress {
  private readonly clock = new StepClock();

  constructor(
    job: JobView,
    private readonly write: (line: string) => void,
  ) {
    write(`job ${job.id} ${job.type}: ${job.steps.length} step${job.steps.length === 1 ? '' : 's'}`);
  }

  onEvent(e: JobEventMessage): void {
    this.write(eventLine(e, this.clock));
  }

  async end(): Promise<void> {}
}

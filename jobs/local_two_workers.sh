#!/usr/bin/env bash
# The multi-worker job of jobs/slurm_train.sbatch and jobs/tfjob.yaml as two worker processes
# on this machine, talking over 127.0.0.1: to try a cluster run without a cluster.
#
#   jobs/local_two_workers.sh --train_data='data/train-*' --model_dir=model [train flags]
#
# Each worker writes its log to $LOG_DIR/worker-<index>.log (default: ./worker_logs). SIGTERM
# or Ctrl-C is passed on to both workers, which save a checkpoint at the step they reached;
# running the script again resumes. The exit status is the first non-zero one of the two
# workers (143: stopped by SIGTERM; 140: a worker lost its peer; see BUILD.md).
set -uo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
python="${PYTHON:-python3}"
log_dir="${LOG_DIR:-worker_logs}"
mkdir -p "$log_dir"

# Two free ports on 127.0.0.1 (the workers listen there; nothing else is contacted).
read -r port0 port1 < <("$python" - <<'PY'
import socket
sockets = [socket.socket() for _ in range(2)]
for s in sockets:
    s.bind(("127.0.0.1", 0))
print(*(s.getsockname()[1] for s in sockets))
PY
)
cluster="{\"worker\": [\"127.0.0.1:$port0\", \"127.0.0.1:$port1\"]}"

pids=()
for index in 0 1; do
  TF_CONFIG="{\"cluster\": $cluster, \"task\": {\"type\": \"worker\", \"index\": $index}}" \
    "$python" "$here/../main.py" train --strategy=multi_worker "$@" \
    > "$log_dir/worker-$index.out" 2> "$log_dir/worker-$index.log" &
  pids+=($!)
done
trap 'kill -TERM "${pids[@]}" 2>/dev/null' TERM INT

status=0
for index in 0 1; do
  # `wait` returns early when a trapped signal arrives: wait again until the worker is gone.
  while true; do
    wait "${pids[$index]}"
    code=$?
    kill -0 "${pids[$index]}" 2>/dev/null || break
  done
  echo "worker $index exited $code (log: $log_dir/worker-$index.log)"
  if [ "$status" -eq 0 ] && [ "$code" -ne 0 ]; then status=$code; fi
done
exit "$status"

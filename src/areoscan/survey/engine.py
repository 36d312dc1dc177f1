"""Run a survey on dask.distributed: one task per image, results written to the catalogue.

Use :func:`open_client` to get a cluster (a LocalCluster, or an existing scheduler with
``scheduler=``) and :func:`process_on_cluster` to process a catalogue's to-do list on it. Each task runs
:func:`process_image` on a worker — fetch → scan → read regions → delete the download — and returns
a small dict; only the client writes the catalogue. A task never raises for a bad image: every
failure (HTTP error, timeout, truncated or oversized download, corrupt JP2) comes back as a
``failed`` result with a one-line reason, and a worker that dies comes back as ``KilledWorker``,
also recorded as failed. Ctrl-C cancels what is in flight and puts those images back to pending.
"""

from __future__ import annotations

import os
import shutil
import socket
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from areoscan.errors import AreoscanError, RasterError
from areoscan.survey.ahead import TASK_KEYS, start_read_ahead, task_ahead, worker_address
from areoscan.survey.catalogue import Catalogue
from areoscan.survey.results import detections_as_dicts, figures, plain, regions_as_dicts
from areoscan.survey.safety import check_product_id, safe_join

DOWNLOADS = "downloads"
OBSERVATIONS = "observations"


@dataclass
class SurveyOptions:
    """What every task needs besides its job.

    keep_images: keep downloaded JP2s in DIR/downloads (default: delete once scanned).
    partial: read remote JP2s by the packet (the screen's level, then only what segmentation
    needs) when the file has PLT markers and the server honours Range; else download them whole.
    read_ahead: a worker opens its next remote image while it scans the current one (the next
    one's screen level by the packet, or its whole download): see :mod:`areoscan.survey.ahead`.
    fetch_retries / fetch_timeout: passed to areoscan.io.fetch (attempts on 5xx/timeouts, seconds).
    scan_kwargs: keyword arguments for the scan function (models, threads, memory_mb, backend …).
    """

    keep_images: bool = False
    fetch_retries: int = 5
    fetch_timeout: float = 30.0
    scan_kwargs: dict[str, Any] = field(default_factory=dict)
    partial: bool = True
    read_ahead: bool = True


@dataclass
class SurveyResult:
    """What a run did: per-status counts of this run, wall time, images per hour, interruption."""

    processed: int
    counts: dict[str, int]
    wall_s: float
    interrupted: bool = False

    @property
    def images_per_hour(self) -> float:
        """Finished images (done + empty + failed) per hour of wall time."""
        return 3600.0 * self.processed / self.wall_s if self.wall_s > 0 else 0.0


def _one_line(exc: BaseException) -> str:
    text = " ".join(str(exc).split()) or exc.__class__.__name__
    return f"{exc.__class__.__name__}: {text}"[:500]


def process_image(
    job: dict[str, Any],
    out_dir: str,
    options: SurveyOptions,
    scan_fn: Callable[..., Any] | bytes | None = None,
    regions_fn: Callable[[Path], Any] | bytes | None = None,
) -> dict[str, Any]:
    """Fetch, scan and clean up one image on a worker; always returns a result dict, never raises.

    scan_fn / regions_fn default to areoscan.scan.scan_image / read_regions (tests inject others;
    as bytes, both come cloudpickled together as a tuple).
    The result has observation_id, status (done / empty / failed), error, timings (fetch_s, scan_s,
    total_s), worker, bytes, the scan's figures (lat, lon, scale, flagged_tiles, region_count,
    detection_count, total_area_m2, percent, output_dir), summary (the scan summary dict),
    regions and detections (the objects of a scan run with a detector; [] without one).
    """
    start = time.perf_counter()
    scan: Callable[..., Any] | None
    regions: Callable[[Path], Any] | None
    if isinstance(scan_fn, bytes) or isinstance(regions_fn, bytes):
        import cloudpickle

        blob = scan_fn if isinstance(scan_fn, bytes) else regions_fn
        scan, regions = cloudpickle.loads(blob)  # type: ignore[arg-type]
    else:
        scan, regions = scan_fn, regions_fn
    obs = job["observation_id"]
    result: dict[str, Any] = {
        "observation_id": obs,
        "status": "failed",
        "error": None,
        "worker": f"{socket.gethostname()}:{os.getpid()}",
        "dask_worker": worker_address(),
    }
    root = Path(out_dir)
    download_dir: Path | None = None
    try:
        check_product_id(obs, "job")
        source: str | Path
        extra: dict[str, Any] = {}
        if job["remote"]:
            download_dir = safe_join(root, DOWNLOADS, obs)
            t0 = time.perf_counter()
            source, result["bytes"] = _remote_source(job, download_dir, options)
            if job.get("ahead"):  # the worker's next image comes while this one is scanned
                check_product_id(job["ahead"]["observation_id"], "job")
                ahead_dir = safe_join(root, DOWNLOADS, job["ahead"]["observation_id"])
                start_read_ahead(job["ahead"], ahead_dir, options)
            if isinstance(source, str):  # read by the packet: the scan fetches what it reads
                extra.update(cache_dir=download_dir, max_bytes=job.get("max_bytes"))
            result["fetch_s"] = time.perf_counter() - t0
        else:
            source = Path(job["url"])
            if not source.is_file():
                raise RasterError(f"{source}: image not found (was the archive moved?)")
            result["bytes"] = source.stat().st_size
        if scan is None:
            import areoscan.scan

            scan = areoscan.scan.scan_image  # type: ignore[attr-defined]
        t0 = time.perf_counter()
        summary = scan(source, safe_join(root, OBSERVATIONS), **options.scan_kwargs, **extra)
        result["scan_s"] = time.perf_counter() - t0
        info: dict[str, Any] = summary.to_dict() if hasattr(summary, "to_dict") else dict(summary)  # type: ignore[arg-type]
        image = info.get("image") if isinstance(info.get("image"), dict) else {}
        result["bytes_fetched"] = (image or {}).get("bytes_fetched", result["bytes"])
        result.update(figures(info))
        result["summary"] = plain(info)
        output_dir = Path(result["output_dir"] or safe_join(root, OBSERVATIONS, obs))
        result["output_dir"] = str(output_dir)
        done = info.get("status") == "done"
        result["regions"] = regions_as_dicts(output_dir, regions) if done else []
        result["detections"] = detections_as_dicts(output_dir) if info.get("detect") else []
        result["status"] = "empty" if info.get("status") == "empty" else "done"
    except AreoscanError as exc:
        result["error"] = _one_line(exc)
    except Exception as exc:  # a task must report, not raise: the survey goes on
        result["error"] = _one_line(exc)
    finally:
        if download_dir is not None and not options.keep_images:
            shutil.rmtree(download_dir, ignore_errors=True)
    result["total_s"] = time.perf_counter() - start
    return result


def _remote_source(
    job: dict[str, Any], folder: Path, options: SurveyOptions
) -> tuple[str | Path, int]:
    """(what to scan, bytes in the file): the URL itself when the image can be read by the packet
    (its headers are then in ``folder``, where the scan's reads continue), else the file
    downloaded whole into ``folder``."""
    from areoscan.io.remote import open_remote

    path, remote = open_remote(
        job["url"], folder, label=True, partial=options.partial, retries=options.fetch_retries,
        timeout=options.fetch_timeout, max_bytes=job.get("max_bytes"),
    )  # fmt: skip
    if remote is None:
        return path, path.stat().st_size
    return str(job["url"]), remote.bytes_total


@contextmanager
def _workers_ignore_sigint() -> Iterator[None]:
    """Start local workers with SIGINT ignored (inherited by the spawned processes).

    A terminal's Ctrl-C reaches every process of its group: the client must handle it (put work
    back to pending, close the cluster) while the workers carry on until they are closed, instead
    of dying mid-task with tracebacks. Python keeps an inherited SIG_IGN for SIGINT.
    """
    import signal
    import threading

    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)


@contextmanager
def open_client(
    workers: int | None = None,
    scheduler: str | None = None,
    *,
    threads_per_worker: int = 1,
    dashboard_address: str | None = ":8787",
    memory_limit: str | int = "auto",
    say: Callable[[str], None] | None = None,
) -> Iterator[Any]:
    """A dask.distributed Client: joins ``scheduler`` if given, else starts a LocalCluster.

    workers: LocalCluster worker processes (default: CPU count); each runs one image at a time.
    A worker that dies is restarted by its nanny; a task whose worker died twice is reported back as
    KilledWorker instead of being retried forever.
    """
    import dask
    from distributed import Client, LocalCluster

    say = say or (lambda msg: print(msg, file=sys.stderr))
    with dask.config.set({"distributed.scheduler.allowed-failures": 1}):
        if scheduler:
            client = Client(scheduler, timeout="30s")
            cluster = None
        else:
            with _workers_ignore_sigint():
                cluster = LocalCluster(
                    n_workers=workers or os.cpu_count() or 1,
                    threads_per_worker=threads_per_worker,
                    processes=True,
                    dashboard_address=dashboard_address,
                    memory_limit=memory_limit,
                )
            client = Client(cluster)
            from areoscan.survey.workerlog import QuietShutdown

            client.register_plugin(QuietShutdown())
    try:
        link = client.dashboard_link
        say(f"areoscan survey: dask dashboard {link}")
        try:
            import bokeh  # noqa: F401
        except ImportError:
            say(
                "areoscan survey: (the dashboard needs the 'bokeh' package, which is not installed)"
            )
        yield client
    finally:
        client.close()
        if cluster is not None:
            import logging

            # Worker processes that imported torch take a few seconds to exit; the nanny then
            # warns "still alive after 4.0 seconds, killing" — expected at shutdown, not news.
            logging.getLogger("distributed.nanny").setLevel(logging.ERROR)
            cluster.close()


def cluster_threads(client: Any) -> int:
    """Total worker threads of the cluster (at least 1)."""
    info = client.scheduler_info()
    return max(1, sum(w.get("nthreads", 1) for w in info.get("workers", {}).values()))


def process_on_cluster(
    catalogue: Catalogue,
    rows: list[Any],
    client: Any,
    out_dir: Path,
    options: SurveyOptions,
    *,
    scan_fn: Callable[..., Any] | None = None,
    regions_fn: Callable[[Path], Any] | None = None,
    in_flight: int | None = None,
    say: Callable[[str], None] | None = None,
    progress: bool = False,
) -> SurveyResult:
    """Process catalogue ``rows`` on ``client``; every result is written in its own transaction.

    in_flight: tasks submitted at once (default: one per cluster thread, so that a worker holds
    only the image it runs: Dask fails every task that was on two dying workers, queued or not, so
    an image queued behind one that kills its worker, and its retry's, failed with it). Then
    ``running`` in the catalogue means running, and an interruption cancels little.
    progress: a bar of images (done / total, rate, ETA) on stderr when it is a terminal; the
    per-image lines then print above the bar.
    """
    from distributed import as_completed

    from areoscan.progress import progress_bar

    say = say or (lambda msg: print(msg, file=sys.stderr))
    start = time.perf_counter()
    counts = {"done": 0, "empty": 0, "failed": 0}
    queue = [dict(r) for r in rows]
    total = len(queue)
    window = in_flight or cluster_threads(client)
    futures: dict[Any, str] = {}
    ac = as_completed()
    finished = 0
    out = str(Path(out_dir).resolve())

    outstanding: set[str] = set()  # marked running in the catalogue, result not yet recorded

    reserved: dict[Any, dict[str, Any]] = {}  # task -> the job its worker reads ahead

    def submit(job: dict[str, Any], worker: str | None = None,
               last: dict[str, Any] | None = None) -> None:  # fmt: skip
        task = {k: job[k] for k in TASK_KEYS}
        ahead = task_ahead(task, queue, last) if options.read_ahead else None
        ids = [task["observation_id"]] + ([ahead["observation_id"]] if ahead else [])
        outstanding.update(ids)
        catalogue.mark_running(ids)
        fut = client.submit(
            process_image, {**task, "ahead": ahead}, out, options, injected, injected,
            key=f"areoscan-survey-{job['observation_id']}-{time.time_ns()}", pure=False,
            workers=[worker] if worker else None, allow_other_workers=bool(worker),
        )  # fmt: skip
        futures[fut] = job["observation_id"]
        if ahead is not None:
            reserved[fut] = ahead
        ac.add(fut)

    injected: bytes | None = None
    if scan_fn is not None or regions_fn is not None:
        import cloudpickle

        # shipped as bytes so that functions registered for pickling by value (scripts, tests)
        # reach workers that cannot import their module
        injected = cloudpickle.dumps((scan_fn, regions_fn))
    bar = progress_bar(total=total, desc="survey", unit="image", enabled=progress)
    line = bar.write if bar.shown else say
    try:
        while queue and len(futures) < window:
            submit(queue.pop(0))
        for fut in ac:
            obs = futures.pop(fut)
            result = _result_of(fut, obs)
            catalogue.record_result(result)
            outstanding.discard(obs)
            counts[result["status"]] += 1
            finished += 1
            line(_progress_line(finished, total, result))
            bar.update()
            ahead = reserved.pop(fut, None)
            if ahead is not None:  # to the worker that opened it ahead (elsewhere if it died)
                submit(ahead, result.get("dask_worker"), result)
            elif queue:
                submit(queue.pop(0))
    except BaseException as exc:
        bar.close()
        for fut in list(futures):
            fut.cancel()
        catalogue.reset_running(sorted(outstanding))
        if isinstance(exc, KeyboardInterrupt):
            say(
                f"areoscan survey: interrupted; {len(outstanding)} images in flight put back to pending"
            )
            return SurveyResult(finished, counts, time.perf_counter() - start, interrupted=True)
        raise
    bar.close()
    return SurveyResult(finished, counts, time.perf_counter() - start)


def _result_of(fut: Any, obs: str) -> dict[str, Any]:
    """The task's result dict, or a failed result when the task itself died (KilledWorker …)."""
    from distributed import KilledWorker

    try:
        result = fut.result()
    except KilledWorker:
        return {
            "observation_id": obs,
            "status": "failed",
            "error": "KilledWorker: the worker died while processing this image "
            "(killed, crashed or out of memory)",
        }
    except Exception as exc:
        return {"observation_id": obs, "status": "failed", "error": _one_line(exc)}
    if not isinstance(result, dict) or result.get("observation_id") != obs:
        return {"observation_id": obs, "status": "failed", "error": "task returned a wrong result"}
    return result


def _progress_line(done: int, total: int, result: dict[str, Any]) -> str:
    status = result["status"]
    extra = ""
    if status == "failed":
        extra = f": {result.get('error')}"
    elif status == "done":
        extra = f": {result.get('region_count') or 0} regions"
    secs = result.get("total_s")
    timing = f" in {secs:.1f} s" if isinstance(secs, float) else ""
    return f"[{done}/{total}] {result['observation_id']} {status}{timing}{extra}"

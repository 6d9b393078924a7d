"""A job's generated files: list them, download one, or stream them all as a zip.

Files are served only from the job's own directory (`<home>/jobs/<job id>`): a requested path is
refused outright when it is absolute or has `..`, NUL or backslash segments, and otherwise
resolved (following symlinks) and served only if the result still lies inside that directory.
"""

from __future__ import annotations

import io
import zipfile
from collections.abc import Iterator
from pathlib import Path as FsPath
from typing import Annotated

from fastapi import APIRouter, Depends, Path, Request, Response
from fastapi.responses import FileResponse, StreamingResponse
from pydantic import BaseModel
from slowapi import Limiter

from app.api.deps import Principal, require_scope
from app.api.problems import ApiProblem, problem_responses
from app.api.routes.common import resources
from app.api.routes.jobs import JOB_ID, owned_job
from app.api.settings import ApiSettings
from app.services.jobs import job_dir

Reader = Annotated[Principal, Depends(require_scope("read"))]
CHUNK = 64 * 1024


class Artifact(BaseModel):
    path: str
    size: int


def list_files(root: FsPath) -> list[FsPath]:
    """Regular files under `root` (not following symlinks out of it), sorted."""
    if not root.is_dir():
        return []
    files = []
    for path in sorted(root.rglob("*")):
        if (
            path.is_file()
            and path.resolve().is_relative_to(root)
            and "__pycache__" not in path.parts
        ):
            files.append(path)
    return files


def safe_path(root: FsPath, relative: str) -> FsPath:
    """The file `relative` names inside `root`; 400 for traversal attempts, 404 when absent."""
    segments = relative.split("/")
    if (
        not relative
        or relative.startswith("/")
        or "\x00" in relative
        or "\\" in relative
        or any(s in ("", ".", "..") for s in segments)
        or ":" in segments[0]
    ):
        raise ApiProblem(
            400,
            "artifact paths are relative paths inside the job's directory",
            code="ARTIFACT_PATH_INVALID",
            hint="Use a path from GET /api/v1/jobs/{id}/artifacts.",
        )
    target = (root / relative).resolve()
    if not target.is_relative_to(root) or not target.is_file():
        raise ApiProblem(404, f"no artifact {relative!r}", code="NOT_FOUND")
    return target


class _Sink(io.RawIOBase):
    """A write-only, unseekable buffer zipfile writes into while the response drains it."""

    def __init__(self) -> None:
        self.chunks: list[bytes] = []

    def writable(self) -> bool:
        return True

    def write(self, data: bytes) -> int:  # type: ignore[override]
        self.chunks.append(bytes(data))
        return len(data)

    def drain(self) -> bytes:
        data = b"".join(self.chunks)
        self.chunks.clear()
        return data


def iter_zip(root: FsPath, files: list[FsPath]) -> Iterator[bytes]:
    """The zip of `files`, produced chunk by chunk (never the whole archive in memory)."""
    sink = _Sink()
    with zipfile.ZipFile(sink, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for path in files:
            info = zipfile.ZipInfo.from_file(path, path.relative_to(root).as_posix())
            info.compress_type = zipfile.ZIP_DEFLATED
            with archive.open(info, "w") as dest, path.open("rb") as src:
                while chunk := src.read(CHUNK):
                    dest.write(chunk)
                    if data := sink.drain():
                        yield data
            if data := sink.drain():
                yield data
    yield sink.drain()


def build_artifacts_router(limiter: Limiter, settings: ApiSettings) -> APIRouter:
    router = APIRouter(prefix="/jobs/{job_id}", tags=["generation"])
    tier = settings.rate_limit_authenticated

    def root_of(request: Request, job_id: str, principal: Principal) -> FsPath:
        job = owned_job(request, job_id, principal)
        return job_dir(resources(request).home, job.id)

    @router.get(
        "/artifacts",
        response_model=list[Artifact],
        responses=problem_responses(401, 403, 404, 422, 429),
        summary="List a job's generated files",
    )
    @limiter.limit(tier)
    def list_artifacts(
        request: Request, response: Response, principal: Reader, job_id: JOB_ID
    ) -> list[Artifact]:
        root = root_of(request, job_id, principal)
        return [
            Artifact(path=p.relative_to(root).as_posix(), size=p.stat().st_size)
            for p in list_files(root)
        ]

    @router.get(
        "/artifacts.zip",
        response_class=StreamingResponse,
        responses={
            200: {"description": "Every artifact, zipped.", "content": {"application/zip": {}}},
            **problem_responses(401, 403, 404, 422, 429),
        },
        summary="Download all of a job's files as a zip (streamed)",
    )
    @limiter.limit(tier)
    def zip_artifacts(request: Request, principal: Reader, job_id: JOB_ID) -> StreamingResponse:
        root = root_of(request, job_id, principal)
        files = list_files(root)
        if not files:
            raise ApiProblem(404, f"job {job_id} has no artifacts", code="NO_ARTIFACTS")
        return StreamingResponse(
            iter_zip(root, files),
            media_type="application/zip",
            headers={"Content-Disposition": f'attachment; filename="{job_id}.zip"'},
        )

    @router.get(
        "/artifacts/{path:path}",
        response_class=FileResponse,
        responses={
            200: {
                "description": "The file's bytes.",
                "content": {"application/octet-stream": {"schema": {"type": "string"}}},
            },
            **problem_responses(400, 401, 403, 404, 422, 429),
        },
        summary="Download one generated file",
    )
    @limiter.limit(tier)
    def get_artifact(
        request: Request,
        principal: Reader,
        job_id: JOB_ID,
        path: Annotated[str, Path(max_length=1024, description="Path from the artifact list.")],
    ) -> FileResponse:
        target = safe_path(root_of(request, job_id, principal), path)
        return FileResponse(target, media_type="application/octet-stream", filename=target.name)

    return router

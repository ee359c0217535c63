from pydantic import BaseModel, ConfigDict, Field


class ProjectIn(BaseModel):
    name: str = Field(min_length=1, max_length=80)


class ProjectOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    name: str


class TaskIn(BaseModel):
    title: str = Field(min_length=1, max_length=200)


class TaskOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    project_id: int
    title: str
    done: bool


class ImportIn(BaseModel):
    """Projects created together, or not at all."""

    names: list[str] = Field(min_length=1)

"""The arXiv categories offered in the subscribe form, grouped for the picker.

A curated subset: the categories where machine-learning papers are listed, with the names arXiv
gives them. Profiles only ever hold codes from this list.
"""

from __future__ import annotations

CATEGORY_GROUPS: list[tuple[str, list[tuple[str, str]]]] = [
    (
        "Machine learning and AI",
        [
            ("cs.LG", "Machine Learning"),
            ("stat.ML", "Machine Learning (Statistics)"),
            ("cs.AI", "Artificial Intelligence"),
            ("cs.NE", "Neural and Evolutionary Computing"),
            ("cs.MA", "Multiagent Systems"),
        ],
    ),
    (
        "Language, vision and speech",
        [
            ("cs.CL", "Computation and Language"),
            ("cs.CV", "Computer Vision and Pattern Recognition"),
            ("cs.IR", "Information Retrieval"),
            ("cs.SD", "Sound"),
            ("eess.AS", "Audio and Speech Processing"),
            ("eess.IV", "Image and Video Processing"),
            ("cs.MM", "Multimedia"),
        ],
    ),
    (
        "Systems, robotics and applications",
        [
            ("cs.RO", "Robotics"),
            ("cs.CR", "Cryptography and Security"),
            ("cs.DC", "Distributed, Parallel, and Cluster Computing"),
            ("cs.SE", "Software Engineering"),
            ("cs.HC", "Human-Computer Interaction"),
            ("cs.CY", "Computers and Society"),
            ("cs.DB", "Databases"),
            ("cs.GR", "Graphics"),
            ("eess.SP", "Signal Processing"),
            ("eess.SY", "Systems and Control"),
        ],
    ),
    (
        "Mathematics and statistics",
        [
            ("math.OC", "Optimization and Control"),
            ("math.ST", "Statistics Theory"),
            ("stat.ME", "Methodology"),
            ("stat.CO", "Computation"),
            ("cs.IT", "Information Theory"),
            ("cs.DS", "Data Structures and Algorithms"),
            ("cs.GT", "Computer Science and Game Theory"),
        ],
    ),
    (
        "Science",
        [
            ("q-bio.QM", "Quantitative Methods (Biology)"),
            ("q-bio.NC", "Neurons and Cognition"),
            ("physics.comp-ph", "Computational Physics"),
            ("quant-ph", "Quantum Physics"),
            ("cond-mat.dis-nn", "Disordered Systems and Neural Networks"),
            ("q-fin.CP", "Computational Finance"),
            ("econ.EM", "Econometrics"),
        ],
    ),
]

CATEGORY_NAMES: dict[str, str] = {
    code: name for _group, categories in CATEGORY_GROUPS for code, name in categories
}

"""A PMML 4.4 TreeModel of an iris decision tree, written from a fitted scikit-learn tree.

The document has upstream's example model's shape: the target `Species`, one
`Probability_<species>` output per class and the winning node's id as
`Node_Id`. Nodes are numbered from 1 in scikit-learn's order, so the setosa
leaf right under the root is node 2, as in upstream's example answer.
"""

from __future__ import annotations

import xml.etree.ElementTree as ElementTree
from pathlib import Path

from sklearn.datasets import load_iris
from sklearn.tree import DecisionTreeClassifier

PMML_NAMESPACE = "http://www.dmg.org/PMML-4_4"
FEATURES = ["sepal_length", "sepal_width", "petal_length", "petal_width"]
TARGET = "Species"
SPECIES = ["setosa", "versicolor", "virginica"]
MODEL_FILE = "model.pmml"
# scikit-learn's marker of a leaf in `tree_.children_left`.
LEAF = -1


def build_pmml(model_dir: Path) -> None:
    """`model.pmml`: a depth-3 decision tree on the iris data."""
    features, labels = load_iris(return_X_y=True)
    tree = DecisionTreeClassifier(max_depth=3, random_state=0).fit(features, labels)
    document = _document(tree)
    ElementTree.indent(document)
    model_dir.mkdir(parents=True, exist_ok=True)
    document.write(model_dir / MODEL_FILE, encoding="UTF-8", xml_declaration=True)


def _document(tree: DecisionTreeClassifier) -> ElementTree.ElementTree:
    ElementTree.register_namespace("", PMML_NAMESPACE)
    root = _element("PMML", version="4.4")
    _element("Header", root, description="Iris decision tree trained on this machine")
    dictionary = _element("DataDictionary", root, numberOfFields=str(len(FEATURES) + 1))
    for name in FEATURES:
        _element("DataField", dictionary, name=name, optype="continuous", dataType="double")
    target = _element(
        "DataField", dictionary, name=TARGET, optype="categorical", dataType="string"
    )
    for species in SPECIES:
        _element("Value", target, value=species)

    model = _element(
        "TreeModel",
        root,
        functionName="classification",
        splitCharacteristic="binarySplit",
        missingValueStrategy="none",
        noTrueChildStrategy="returnNullPrediction",
    )
    schema = _element("MiningSchema", model)
    _element("MiningField", schema, name=TARGET, usageType="target")
    for name in FEATURES:
        _element("MiningField", schema, name=name)
    output = _element("Output", model)
    for species in SPECIES:
        _element(
            "OutputField",
            output,
            name=f"Probability_{species}",
            optype="continuous",
            dataType="double",
            feature="probability",
            value=species,
        )
    _element(
        "OutputField",
        output,
        name="Node_Id",
        optype="categorical",
        dataType="string",
        feature="entityId",
    )
    _node(tree, 0, model, None)
    return ElementTree.ElementTree(root)


def _node(
    tree: DecisionTreeClassifier,
    index: int,
    parent: ElementTree.Element,
    predicate: tuple[str, str, float] | None,
) -> None:
    """Write node `index` (and its subtree) under `parent`, reached when `predicate` holds."""
    nodes = tree.tree_
    samples = int(nodes.n_node_samples[index])
    fractions = nodes.value[index][0] / nodes.value[index][0].sum()
    node = _element(
        "Node",
        parent,
        id=str(index + 1),
        score=SPECIES[int(fractions.argmax())],
        recordCount=str(samples),
    )
    if predicate is None:
        _element("True", node)
    else:
        field, operator, threshold = predicate
        _element("SimplePredicate", node, field=field, operator=operator, value=repr(threshold))
    for species, fraction in zip(SPECIES, fractions, strict=True):
        _element(
            "ScoreDistribution",
            node,
            value=species,
            recordCount=str(round(fraction * samples)),
            probability=repr(float(fraction)),
        )
    left, right = int(nodes.children_left[index]), int(nodes.children_right[index])
    if left == LEAF:
        return
    field, threshold = FEATURES[int(nodes.feature[index])], float(nodes.threshold[index])
    # scikit-learn sends a row left when its value is at most the threshold.
    _node(tree, left, node, (field, "lessOrEqual", threshold))
    _node(tree, right, node, (field, "greaterThan", threshold))


def _element(
    tag: str, parent: ElementTree.Element | None = None, **attributes: str
) -> ElementTree.Element:
    qualified = f"{{{PMML_NAMESPACE}}}{tag}"
    if parent is None:
        return ElementTree.Element(qualified, attributes)
    return ElementTree.SubElement(parent, qualified, attributes)

# The sweep's adaptive search (README "Adaptive search"): rounds of Optuna trials, each round
# proposed by a checkpoint, trained by the train rule's job (in the search's own directory, one
# run directory per successive-halving rung), pruned rung by rung and told back in trial order.
# The search's files: thesis_ml.search.plan; the steps: python -m thesis_ml.search.
checkpoint search_propose:
    input:
        told=lambda w: [told_file(int(w.round) - 1)] if int(w.round) > 0 else [],
        sources=step_sources("search"),
    output:
        f"{SEARCH_DIR}/round-{{round}}.json",
    log:
        f"{SEARCH_DIR}/logs/propose-{{round}}.log",
    conda:
        "../envs/thesis-ml.yaml"
    params:
        workflow=lambda w: search_workflow_json(int(w.round)),
    shell:
        "python -m thesis_ml.search propose --workflow-json {params.workflow:q}"
        " {wildcards.round} > {log:q} 2>&1"


use rule train as train_trial with:
    input:
        data=data_file,
        quantizer_references=quantizer_reference_files,
        sources=step_sources("train"),
        rung_below=lambda w: (trial_outputs([w.trial], int(w.rung) - 1) if int(w.rung) > 0 else []),
    output:
        model=f"{TRIAL_DIR}/model.pt",
        selected=f"{TRIAL_DIR}/model_selected.pt",
        cfg=f"{TRIAL_DIR}/cfg.yaml",
        scalars=f"{TRIAL_DIR}/facts/scalars.csv",
        events=f"{TRIAL_DIR}/facts/events.jsonl",
    log:
        f"{SEARCH_DIR}/logs/train/{{trial}}-rung-{{rung}}.log",
    benchmark:
        f"{SEARCH_DIR}/benchmarks/train/{{trial}}-rung-{{rung}}.tsv"
    params:
        run_config=run_config_json,
        run_dir=lambda wildcards, output: Path(output.cfg).parent,
        resume_from=lambda wildcards, input: (
            ["--resume-from", str(Path(input.rung_below[0]).parent)] if input.rung_below else []
        ),


# Successive halving: once a rung's trials are trained, the best go on to the next rung.
checkpoint search_promote:
    input:
        trials=lambda w: trial_outputs(rung_trials(int(w.round), int(w.rung)), int(w.rung)),
        sources=step_sources("search"),
    output:
        f"{SEARCH_DIR}/round-{{round}}.rung-{{rung}}.json",
    log:
        f"{SEARCH_DIR}/logs/promote-{{round}}-{{rung}}.log",
    conda:
        "../envs/thesis-ml.yaml"
    params:
        workflow=lambda w: search_workflow_json(int(w.round)),
    shell:
        "python -m thesis_ml.search promote --workflow-json {params.workflow:q}"
        " {wildcards.round} {wildcards.rung} > {log:q} 2>&1"


rule search_tell:
    input:
        trials=lambda w: [
            path
            for name, rung in round_results(int(w.round))
            for path in trial_outputs([name], rung)
        ],
        sources=step_sources("search"),
    output:
        f"{SEARCH_DIR}/told-{{round}}.json",
    log:
        f"{SEARCH_DIR}/logs/tell-{{round}}.log",
    conda:
        "../envs/thesis-ml.yaml"
    params:
        workflow=lambda w: search_workflow_json(int(w.round)),
    shell:
        "python -m thesis_ml.search tell --workflow-json {params.workflow:q}"
        " {wildcards.round} > {log:q} 2>&1"

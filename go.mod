module github.com/adcsflow/adcsflow

go 1.26.8
